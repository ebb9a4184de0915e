"""Security headers on every response (errors, docs, health, admission-control 503s, 500s),
CORS closed unless configured, and the secret key the server refuses to start without."""

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from app.core.admission import AdmissionControl
from app.core.config import InsecureSecret, Settings
from app.main import create_app
from tests.conftest import make_settings
from tests.servers import TEST_SECRET_KEY

ALWAYS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def assert_secure(resp, cache: bool = False) -> None:
    for name, value in ALWAYS.items():
        assert resp.headers.get(name) == value, (resp.request.url, name, resp.headers)
    assert "content-security-policy" in resp.headers
    if not cache:
        assert resp.headers.get("cache-control") == "no-store", resp.headers
    assert "strict-transport-security" not in resp.headers


def _app(settings: Settings, **changes: object) -> TestClient:
    return TestClient(
        create_app(settings.model_copy(update=changes)), raise_server_exceptions=False
    )


def test_every_kind_of_response_carries_the_security_headers(demo):
    c = demo.client
    for path in ("/health", "/ready", "/openapi.json", "/docs", "/api/v1/schools", "/nowhere"):
        assert_secure(c.get(path))
    assert_secure(c.get("/api/v1/schools", headers=demo.auth("admin")))
    assert_secure(c.post("/api/v1/sync/push", content=b"{", headers=demo.auth("clerk")))
    assert_secure(c.request("PROPFIND", "/health"))
    assert_secure(c.get("/api/v1/schools?cursor=%00"))
    # Swagger UI's own files may be cached.
    static = c.get("/static/swagger-ui/swagger-ui.css")
    assert static.status_code == 200
    assert_secure(static, cache=True)
    assert static.headers.get("cache-control") != "no-store"


def test_data_under_auth_is_never_cached(demo):
    resp = demo.client.get("/api/v1/auth/me", headers=demo.auth("admin"))
    assert resp.status_code == 200
    assert resp.headers["cache-control"] == "no-store"


def test_the_docs_page_csp_lets_the_local_swagger_ui_run(client):
    resp = client.get("/docs")
    csp = resp.headers["content-security-policy"]
    assert "script-src 'self' 'sha256-" in csp and "'unsafe-inline'" not in csp.split(";")[1]
    assert "connect-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "/static/swagger-ui/swagger-ui-bundle.js" in resp.text
    # The inline start-up script is exactly the one the hash allows.
    import base64
    import hashlib

    (script,) = re.findall(r"<script>(.*?)</script>", resp.text, flags=re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp
    assert client.get("/static/swagger-ui/swagger-ui-bundle.js").status_code == 200


def test_api_responses_forbid_everything_to_a_browser(client):
    csp = client.get("/health").headers["content-security-policy"]
    assert csp.startswith("default-src 'none'") and "frame-ancestors 'none'" in csp


def test_an_unexpected_500_carries_them_too(settings):
    app = create_app(settings)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    with TestClient(app, raise_server_exceptions=False) as c:
        resp = c.get("/boom")
    assert resp.status_code == 500
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["type"].endswith("/internal-error")
    assert_secure(resp)


def _admission(app) -> AdmissionControl:
    layer = app.middleware_stack
    while not isinstance(layer, AdmissionControl):
        layer = layer.app
    return layer


def test_a_503_from_admission_control_carries_them(settings):
    with _app(settings, queue_size=0) as c:
        assert c.get("/health").status_code == 200  # builds the middleware stack
        gate = _admission(c.app)
        gate._sem = asyncio.Semaphore(0)  # every slot taken, no room to wait
        resp = c.get("/api/v1/schools")
    assert resp.status_code == 503 and "retry-after" in resp.headers
    assert resp.headers["content-type"] == "application/problem+json"
    assert_secure(resp)


def test_hsts_only_when_configured(settings):
    with _app(settings) as c:
        assert "strict-transport-security" not in c.get("/health").headers
    with _app(settings, hsts_seconds=31536000) as c:
        assert c.get("/health").headers["strict-transport-security"] == "max-age=31536000"
        assert c.get("/nowhere").headers["strict-transport-security"] == "max-age=31536000"


# ---------------------------------------------------------------------------- CORS

ORIGIN = "https://dashboard.ministry.example"
PREFLIGHT = {
    "Origin": ORIGIN,
    "Access-Control-Request-Method": "GET",
    "Access-Control-Request-Headers": "authorization",
}


def test_cors_is_closed_by_default(client):
    pre = client.options("/api/v1/schools", headers=PREFLIGHT)
    assert "access-control-allow-origin" not in pre.headers
    assert pre.status_code == 405 and pre.headers["content-type"] == "application/problem+json"
    get = client.get("/health", headers={"Origin": ORIGIN})
    assert not any(h.startswith("access-control-") for h in get.headers)


def test_cors_allows_exactly_the_configured_origins(settings):
    with _app(settings, cors_origins=[ORIGIN]) as c:
        pre = c.options("/api/v1/schools", headers=PREFLIGHT)
        assert pre.status_code == 200, pre.text
        assert pre.headers["access-control-allow-origin"] == ORIGIN
        assert "GET" in pre.headers["access-control-allow-methods"]
        assert_secure(pre)
        get = c.get("/health", headers={"Origin": ORIGIN})
        assert get.headers["access-control-allow-origin"] == ORIGIN
        other = c.options(
            "/api/v1/schools", headers={**PREFLIGHT, "Origin": "https://evil.example"}
        )
        assert other.status_code == 400
        assert other.headers["content-type"] == "application/problem+json"
        assert other.json()["type"].endswith("/cors-refused")
        assert "access-control-allow-origin" not in other.headers
        plain = c.get("/health", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in plain.headers


def test_cors_origins_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("EMIS_CORS_ORIGINS", f"{ORIGIN}, https://b.example")
    assert Settings().cors_origins == [ORIGIN, "https://b.example"]
    monkeypatch.setenv("EMIS_CORS_ORIGINS", '["https://c.example"]')
    assert Settings().cors_origins == ["https://c.example"]
    monkeypatch.delenv("EMIS_CORS_ORIGINS")
    assert Settings().cors_origins == []


# ---------------------------------------------------------------------------- the secret


@pytest.mark.parametrize(
    "secret",
    ["", "x" * 31, "changeme" * 4, "change-me-change-me-change-me-change-me", "a" * 64],
)
def test_the_app_refuses_a_missing_short_or_well_known_secret(secret, db_url, tmp_path: Path):
    settings = make_settings(db_url, tmp_path).model_copy(
        update={"secret_key": SecretStr(secret), "demo_mode": False}
    )
    with pytest.raises(InsecureSecret, match="EMIS_SECRET_KEY") as err:
        create_app(settings)
    assert "secrets.token_urlsafe(48)" in str(err.value)


def test_demo_mode_runs_without_a_secret(db_url, tmp_path: Path):
    settings = make_settings(db_url, tmp_path).model_copy(
        update={"secret_key": SecretStr(""), "demo_mode": True}
    )
    with TestClient(create_app(settings)) as c:
        assert c.get("/health").status_code == 200


def test_the_secret_never_shows_in_the_settings_repr(settings):
    assert TEST_SECRET_KEY not in repr(settings) and TEST_SECRET_KEY not in str(settings)


@pytest.fixture
def no_secret_env(monkeypatch) -> Iterator[None]:
    monkeypatch.delenv("EMIS_SECRET_KEY", raising=False)
    monkeypatch.delenv("EMIS_DEMO_MODE", raising=False)
    yield


def test_settings_without_a_secret_are_refused_outside_demo_mode(no_secret_env, monkeypatch):
    assert "not set" in (Settings().secret_problem() or "")
    monkeypatch.setenv("EMIS_DEMO_MODE", "true")
    assert Settings().secret_problem() is None
