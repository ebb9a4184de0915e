"""Login, tokens, and areas."""

import pytest
from typer.testing import CliRunner

from app.cli import app as cli
from app.core.config import get_settings


def test_wrong_password_and_unknown_user_get_the_same_401(demo):
    wrong = demo.client.post(
        "/api/v1/auth/token", data={"username": "clerk", "password": "nope-nope"}
    )
    unknown = demo.client.post(
        "/api/v1/auth/token", data={"username": "ghost", "password": "nope-nope"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.headers["www-authenticate"] == "Bearer"


def test_token_works_and_says_who(demo):
    resp = demo.client.get("/api/v1/auth/me", headers=demo.auth("clerk"))
    assert resp.json() == {"username": "clerk", "role": "clerk", "unit": "DM-R01-D001"}


@pytest.mark.parametrize("header", [None, "Bearer not-a-token", "Basic abc"])
def test_missing_or_bad_token_is_401(demo, header):
    headers = {"Authorization": header} if header else {}
    resp = demo.client.get("/api/v1/schools", headers=headers)
    assert resp.status_code == 401
    assert resp.headers["content-type"].startswith("application/problem+json")


def test_clerk_cannot_read_another_districts_school(demo):
    headers = demo.auth("clerk")  # area DM-R01-D001
    own = demo.client.get("/api/v1/schools", headers=headers).json()["items"]
    assert own and all(s["unit"] == "DM-R01-D001" for s in own)
    other = demo.client.get("/api/v1/schools", headers=demo.auth("clerk2")).json()["items"][0]
    assert other["unit"] == "DM-R01-D002"
    resp = demo.client.get(f"/api/v1/schools/{other['code']}", headers=headers)
    assert resp.status_code == 403
    assert demo.client.get("/api/v1/schools?unit=DM-R01-D002", headers=headers).status_code == 403
    assert demo.client.get("/api/v1/schools/NO-SUCH", headers=headers).status_code == 404


def test_national_user_sees_every_school(demo):
    page = demo.client.get("/api/v1/schools?limit=1000", headers=demo.auth("analyst")).json()
    assert len(page["items"]) == 120 and page["next_cursor"] is None


def test_clerk_cannot_write_the_registry(demo):
    resp = demo.client.put(
        "/api/v1/schools/NEW-1",
        headers=demo.auth("clerk"),
        json={"name": "New", "unit": "DM-R01-D001", "ownership": "public"},
    )
    assert resp.status_code == 403


@pytest.fixture
def emis_cli(demo, monkeypatch):
    monkeypatch.setenv("EMIS_DATABASE_URL", demo.url)
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *a, input=None: runner.invoke(cli, list(a), input=input)
    get_settings.cache_clear()


def test_device_token_is_printed_once_and_can_be_revoked(demo, emis_cli):
    made = emis_cli("token", "create", "--user", "clerk", "--label", "laptop-1")
    assert made.exit_code == 0, made.output
    token = made.stdout.strip().splitlines()[-1]
    assert token.startswith("emis_d_")
    headers = {"Authorization": f"Bearer {token}"}
    assert demo.client.get("/api/v1/auth/me", headers=headers).status_code == 200
    listed = emis_cli("token", "list", "--user", "clerk")
    assert "laptop-1" in listed.output and token not in listed.output
    token_id = made.output.split("Device token ")[1].split()[0]
    assert emis_cli("token", "revoke", token_id).exit_code == 0
    assert demo.client.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_user_create_reads_password_from_stdin(demo, emis_cli):
    made = emis_cli(
        "user",
        "create",
        "--username",
        "rev2",
        "--role",
        "reviewer",
        "--unit",
        "DM-R02",
        "--password-stdin",
        input="long-enough-pw\n",
    )
    assert made.exit_code == 0, made.output
    resp = demo.client.post(
        "/api/v1/auth/token", data={"username": "rev2", "password": "long-enough-pw"}
    )
    assert resp.status_code == 200
    bad = emis_cli(
        "user",
        "create",
        "--username",
        "x",
        "--role",
        "king",
        "--unit",
        "DM",
        "--password-stdin",
        input="long-enough-pw\n",
    )
    assert bad.exit_code == 1 and "Unknown role" in bad.output
