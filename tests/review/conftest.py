"""A district whose schools all reported, and reviewers at every rung above it."""

import pytest

from app.auth.service import create_user
from app.core.uow import unit_of_work
from tests.sync.helpers import good_values, item, push, school_levels

DISTRICT = "DM-R01-D001"
PASSWORD = "ladder-pass-1"


def _headers(demo, username: str) -> dict[str, str]:
    if username in demo.users:
        return demo.auth(username)
    resp = demo.client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


@pytest.fixture
def ladder(demo):
    """District, regional and national reviewers, and every school of DM-R01-D001 reported
    (the last one with an invalid return)."""
    with unit_of_work(demo.db) as uow:
        create_user(uow.session, "rev_d", PASSWORD, "reviewer", DISTRICT)
        create_user(uow.session, "rev_d2", PASSWORD, "reviewer", "DM-R01-D002")
        create_user(uow.session, "rev_r", PASSWORD, "reviewer", "DM-R01")
        create_user(uow.session, "rev_n", PASSWORD, "reviewer", "DM")
    admin = demo.auth("admin")
    page = demo.client.get(f"/api/v1/schools?unit={DISTRICT}&limit=1000", headers=admin).json()
    schools = [s["code"] for s in page["items"] if s["status"] == "open"]
    year = demo.result.years[1]
    items = []
    for n, code in enumerate(schools):
        values = good_values(n + 1, school_levels(demo, code))
        if n == len(schools) - 1:  # invalid: more repeaters in P1 than pupils
            p1f = next(r for r in values["repeaters"] if r["grade"] == "P1" and r["sex"] == "F")
            p1f["value"] = 10_000
        items.append(item(code, year, values=values))
    results = push(demo, items).json()["results"]
    assert [r["status"] for r in results] == ["applied"] * len(items)
    assert results[-1]["return_status"] == "invalid"
    assert {r["return_status"] for r in results[:-1]} == {"submitted"}
    return {"year": year, "schools": schools, "h": lambda u: _headers(demo, u)}
