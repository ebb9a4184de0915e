"""Health, readiness, problem+json errors, and refusing to run on an old schema."""

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.core.db import make_engine
from app.main import SchemaNotReady, create_app


def test_health_touches_nothing(client: TestClient):
    resp = client.get("/health")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok"}


def test_ready_when_schema_is_at_head(client: TestClient):
    resp = client.get("/ready")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ready"}


def test_ready_is_503_when_schema_is_behind(db_url: str, tmp_path: Path):
    settings = Settings(database_url=db_url, data_dir=tmp_path)
    with TestClient(create_app(settings)) as c:
        engine = make_engine(db_url)
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'older'")
        engine.dispose()
        resp = c.get("/ready")
    assert resp.status_code == 503
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert "emis db upgrade" in resp.json()["detail"]


def test_server_refuses_to_start_on_empty_database(db_factory, tmp_path: Path):
    url = db_factory.empty(migrate=False)
    try:
        with (
            pytest.raises(SchemaNotReady, match="emis db upgrade"),
            TestClient(create_app(Settings(database_url=url, data_dir=tmp_path))),
        ):
            pass
    finally:
        db_factory.drop(url)


def test_unknown_route_is_problem_json(client: TestClient):
    resp = client.get("/api/v1/nothing-here")
    assert resp.status_code == 404
    body = resp.json()
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert {"type", "title", "status", "detail"} <= body.keys()


def test_validation_error_names_the_field(client: TestClient):
    resp = client.post("/api/v1/auth/token", data={"username": "x"})
    assert resp.status_code == 422
    body = resp.json()
    assert body["status"] == 422
    assert any(e["path"] == "body.password" for e in body["errors"])
    assert "Traceback" not in resp.text


def test_openapi_lists_registry_auth_and_health_with_examples(client: TestClient):
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for p in (
        "/health",
        "/ready",
        "/api/v1/auth/token",
        "/api/v1/schools",
        "/api/v1/admin-units",
        "/api/v1/school-years",
        "/api/v1/population",
        "/api/v1/sync/push",
        "/api/v1/sync/pull",
        "/api/v1/returns/{form}/{year}/{school}",
    ):
        assert p in paths, p
    schemas = spec["components"]["schemas"]
    assert schemas["SchoolUpsert"].get("examples")
    assert (
        "example"
        in paths["/api/v1/sync/push"]["post"]["requestBody"]["content"]["application/json"]
    )


def test_emis_serve_refuses_an_unmigrated_database(db_factory, tmp_path: Path, monkeypatch):
    from typer.testing import CliRunner

    from app.cli import app as cli
    from app.core.config import get_settings

    url = db_factory.empty(migrate=False)
    monkeypatch.setenv("EMIS_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["serve", "--port", "1"])
        assert result.exit_code == 1
        assert "Run `emis db upgrade`" in result.output
        assert CliRunner().invoke(cli, ["db", "upgrade"]).exit_code == 0
        assert CliRunner().invoke(cli, ["db", "current"]).exit_code == 0
    finally:
        get_settings.cache_clear()
        db_factory.drop(url)


def test_docs_work_without_internet(client: TestClient):
    page = client.get("/docs")
    assert page.status_code == 200
    assert "/static/swagger-ui/swagger-ui-bundle.js" in page.text
    assert "cdn." not in page.text
    js = client.get("/static/swagger-ui/swagger-ui-bundle.js")
    assert js.status_code == 200 and len(js.content) > 100_000
    assert client.get("/static/swagger-ui/swagger-ui.css").status_code == 200
