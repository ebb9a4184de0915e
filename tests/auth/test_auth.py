"""Login, tokens, and areas."""

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from app.cli import app as cli
from app.core.config import get_settings
from app.registry.models import School
from tests.conftest import DEMO
from tests.sync.helpers import FORM, clerk_schools, item, push


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
    with demo.factory() as s:
        stored = set(s.scalars(select(School.code)))
        assert s.scalar(select(func.count()).select_from(School)) == DEMO["schools"]
    page = demo.client.get("/api/v1/schools?limit=1000", headers=demo.auth("analyst")).json()
    assert page["next_cursor"] is None
    codes = [s["code"] for s in page["items"]]
    assert len(codes) == len(stored) and set(codes) == stored


def test_clerk_cannot_read_returns_outside_the_area(demo):
    year = demo.result.years[1]
    own, other = clerk_schools(demo)[0], clerk_schools(demo, "clerk2")[0]
    assert push(demo, [item(own, year)]).json()["results"][0]["status"] == "applied"
    pushed = push(demo, [item(other, year)], user="clerk2", device="laptop-2")
    assert pushed.json()["results"][0]["status"] == "applied"
    h = demo.auth("clerk")  # area DM-R01-D001; `other` lies in DM-R01-D002

    assert demo.client.get(f"/api/v1/returns/{FORM}/{year}/{own}", headers=h).status_code == 200
    for url in (
        f"/api/v1/returns/{FORM}/{year}/{other}",
        f"/api/v1/returns/{FORM}/{year}/{other}/history",
        "/api/v1/returns?unit=DM-R01-D002",
        "/api/v1/returns?unit=DM-R01",  # the region above the clerk's district
    ):
        resp = demo.client.get(url, headers=h)
        assert resp.status_code == 403, url
        assert resp.headers["content-type"].startswith("application/problem+json")
    listed = demo.client.get("/api/v1/returns?limit=1000", headers=h).json()["items"]
    assert [r["school"] for r in listed] == [own]
    # The owner of the district does see it.
    h2 = demo.auth("clerk2")
    assert demo.client.get(f"/api/v1/returns/{FORM}/{year}/{other}", headers=h2).status_code == 200


def test_clerk_cannot_read_population_outside_the_area(demo):
    year = demo.result.years[1]
    h = demo.auth("clerk")  # area DM-R01-D001
    own = demo.client.get(f"/api/v1/population?unit=DM-R01-D001&year={year}", headers=h)
    assert own.status_code == 200 and own.json()["rows"]
    for unit in ("DM-R01-D002", "DM-R01", "DM"):
        resp = demo.client.get(f"/api/v1/population?unit={unit}&year={year}", headers=h)
        assert resp.status_code == 403, unit
        assert resp.headers["content-type"].startswith("application/problem+json")
    assert (
        demo.client.get(f"/api/v1/population?unit=NOPE&year={year}", headers=h).status_code == 404
    )
    analyst = demo.auth("analyst")
    resp = demo.client.get(f"/api/v1/population?unit=DM-R01-D002&year={year}", headers=analyst)
    assert resp.status_code == 200 and resp.json()["rows"]


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
