"""Health, readiness, problem+json errors, and refusing to run on an old schema."""

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.core.db import make_engine
from app.core.problem_docs import Problem
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


def test_wrong_method_lists_every_allowed_one(client: TestClient):
    """A 405 names all the methods the path takes, not only the first route's (RFC 9110)."""
    resp = client.patch("/api/v1/schools/DM-000001")
    assert resp.status_code == 405
    assert resp.headers["content-type"].startswith("application/problem+json")
    allowed = {m.strip() for m in resp.headers["allow"].split(",")}
    assert {"GET", "PUT", "DELETE"} <= allowed and "PATCH" not in allowed


def test_validation_error_names_the_field(client: TestClient):
    resp = client.post("/api/v1/auth/token", data={"username": "x"})
    assert resp.status_code == 422
    body = resp.json()
    assert body["status"] == 422
    assert any(e["path"] == "body.password" for e in body["errors"])
    assert "Traceback" not in resp.text


OPERATIONS = ("get", "put", "post", "delete", "patch")


def _target(spec: dict, schema: dict) -> dict:
    ref = schema.get("$ref")
    if not ref:
        return schema
    assert ref.startswith("#/components/schemas/"), ref
    return spec["components"]["schemas"][ref.rsplit("/", 1)[1]]


def _has_example(spec: dict, media: dict) -> bool:
    """An example on the media type, on the schema, on its $ref target (or, for a list, on the
    target of its items)."""
    if media.get("example") is not None or media.get("examples"):
        return True
    schema = media.get("schema") or {}
    candidates = [schema, _target(spec, schema)]
    if schema.get("type") == "array":
        candidates.append(_target(spec, schema.get("items") or {}))
    return any(c.get("examples") or c.get("example") is not None for c in candidates)


def _documented_operations(spec: dict) -> list[tuple[str, str, dict]]:
    return [
        (method, path, op)
        for path, item in spec["paths"].items()
        if path.startswith("/api/v1/") or path in ("/health", "/ready")
        for method, op in item.items()
        if method in OPERATIONS
    ]


def test_openapi_documents_every_operation_with_examples(client: TestClient):
    spec = client.get("/openapi.json").json()
    ops = _documented_operations(spec)
    found = {(m, p) for m, p, _ in ops}
    for must in (
        ("get", "/health"),
        ("get", "/ready"),
        ("post", "/api/v1/auth/token"),
        ("get", "/api/v1/auth/me"),
        ("get", "/api/v1/schools"),
        ("put", "/api/v1/schools/{code}"),
        ("get", "/api/v1/admin-units"),
        ("get", "/api/v1/school-years"),
        ("get", "/api/v1/population"),
        ("put", "/api/v1/population"),
        ("post", "/api/v1/sync/push"),
        ("get", "/api/v1/sync/pull"),
        ("get", "/api/v1/returns"),
        ("get", "/api/v1/returns/{form}/{year}/{school}"),
        ("get", "/api/v1/returns/{form}/{year}/{school}/history"),
    ):
        assert must in found, must

    missing = []
    for method, path, op in ops:
        where = f"{method.upper()} {path}"
        ok = {c: r for c, r in op["responses"].items() if c.startswith("2")}
        assert ok, f"{where}: no 2xx response documented"
        for code, response in ok.items():
            if code == "204":
                assert not response.get("content"), f"{where}: 204 must have no body"
                continue
            content = response.get("content") or {}
            assert content, f"{where}: {code} has no content"
            for media_type, media in content.items():
                assert media.get("schema"), f"{where}: {code} {media_type} has no schema"
                if not _has_example(spec, media):
                    missing.append(f"{where} {code} {media_type}")
        body = op.get("requestBody")
        if body:
            for media_type, media in body["content"].items():
                assert media.get("schema"), f"{where}: request {media_type} has no schema"
                if not _has_example(spec, media):
                    missing.append(f"{where} request body {media_type}")
    assert missing == [], "operations without an example: " + "; ".join(missing)


def test_openapi_documents_errors_as_problem_json(client: TestClient):
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in str(spec) and "ValidationError" not in schemas
    problem = schemas["Problem"]
    assert {"type", "title", "status", "detail"} <= set(problem["required"])
    assert problem["examples"][0]["status"] == 422
    errors_items = problem["properties"]["errors"]["anyOf"][0]["items"]
    assert set(_target(spec, errors_items)["properties"]) == {"code", "path", "message"}

    validated = 0
    for method, path, op in _documented_operations(spec):
        where = f"{method.upper()} {path}"
        responses = op["responses"]
        if op.get("parameters") or op.get("requestBody"):
            assert "422" in responses, f"{where}: 422 not documented"
            validated += 1
        if op.get("security"):
            assert "401" in responses, f"{where}: 401 not documented"
        if path != "/health":
            assert "503" in responses, f"{where}: 503 not documented"
        for code, response in responses.items():
            if int(code) < 400:
                continue
            assert response.get("description"), f"{where} {code}: no description"
            assert list(response["content"]) == ["application/problem+json"], f"{where} {code}"
            media = response["content"]["application/problem+json"]
            assert media["schema"] == {"$ref": "#/components/schemas/Problem"}, f"{where} {code}"
            assert media["example"]["status"] == int(code), f"{where} {code}"
            assert Problem.model_validate(media["example"])
    assert validated > 10
    # What is documented is what is sent.
    for resp in (
        client.post("/api/v1/auth/token", data={"username": "x"}),
        client.get("/api/v1/auth/me"),
        client.get("/api/v1/nothing-here"),
    ):
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert Problem.model_validate(resp.json()).status == resp.status_code


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
