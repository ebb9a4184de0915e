"""The change log follows areas: when a district moves to another region and a school to
another district, every device ends with exactly what GET allows its user, by incremental pull
from its old cursor and by a fresh pull alike (SQLite and PostgreSQL: the suite's database)."""

from typing import Any

import pytest

from app.auth.service import create_user
from app.core.uow import unit_of_work
from tests.sync.helpers import FORM, cells, item, push

MOVED_DISTRICT = "DM-R01-D001"
NEW_REGION = "DM-R02"
PASSWORD = "reviewer-two-pass"


def _pull(demo, token: dict[str, str], cursor: str | None = None, limit: int = 25):
    changes: list[dict[str, Any]] = []
    while True:
        url = f"/api/v1/sync/pull?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        resp = demo.client.get(url, headers=token)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        changes += body["changes"]
        cursor = body["cursor"]
        if not body["has_more"]:
            return changes, cursor


def _apply(state: dict[tuple[str, str], Any], changes: list[dict[str, Any]]) -> None:
    """What a device does with pulled changes."""
    for c in changes:
        if c["op"] == "delete":
            state.pop((c["type"], c["key"]), None)
        else:
            state[(c["type"], c["key"])] = c["data"]


def _what_get_allows(demo, token: dict[str, str]) -> dict[tuple[str, str], Any]:
    """Schools and returns the user may read over GET, with their data."""
    out: dict[tuple[str, str], Any] = {}
    cursor = None
    while True:
        url = "/api/v1/schools?limit=100" + (f"&cursor={cursor}" if cursor else "")
        page = demo.client.get(url, headers=token).json()
        for s in page["items"]:
            out[("school", s["code"])] = s
        cursor = page["next_cursor"]
        if not cursor:
            break
    cursor = None
    while True:
        url = "/api/v1/returns?limit=100" + (f"&cursor={cursor}" if cursor else "")
        page = demo.client.get(url, headers=token).json()
        for r in page["items"]:
            one = demo.client.get(
                f"/api/v1/returns/{r['form']}/{r['year']}/{r['school']}", headers=token
            )
            assert one.status_code == 200, one.text
            out[("return", f"{r['form']}/{r['year']}/{r['school']}")] = one.json()
        cursor = page["next_cursor"]
        if not cursor:
            break
    return out


def _schools_and_returns(state: dict[tuple[str, str], Any]) -> dict[tuple[str, str], Any]:
    return {k: v for k, v in state.items() if k[0] in ("school", "return")}


def _same(device: dict[tuple[str, str], Any], allowed: dict[tuple[str, str], Any]) -> None:
    assert sorted(device) == sorted(allowed)
    for key, data in allowed.items():
        if key[0] == "school":
            assert device[key] == data, key
        else:
            mine = device[key]
            assert (mine["revision"], mine["status"]) == (data["revision"], data["status"]), key
            assert cells(mine["values"]) == cells(data["values"]), key


def _school_of(demo, unit: str) -> list[str]:
    page = demo.client.get(
        f"/api/v1/schools?unit={unit}&limit=1000", headers=demo.auth("admin")
    ).json()
    return [s["code"] for s in page["items"]]


@pytest.fixture
def tokens(demo) -> dict[str, dict[str, str]]:
    with unit_of_work(demo.db) as uow:
        create_user(uow.session, "reviewer2", PASSWORD, "reviewer", NEW_REGION)
    demo.users["reviewer2"] = PASSWORD
    return {u: demo.auth(u) for u in ("reviewer", "reviewer2", "clerk", "clerk2", "admin")}


def test_moving_a_district_and_a_school_follows_every_device(demo, tokens):
    year = demo.result.years[1]
    moved_schools = _school_of(demo, MOVED_DISTRICT)
    other_district = demo.result.district_codes[1]  # clerk2's, stays in DM-R01
    assert other_district.startswith("DM-R01-")
    lone_school = _school_of(demo, other_district)[0]
    target_district = f"{NEW_REGION}-D001"
    # Returns in the district that will move and for the school that will move.
    for n, code in enumerate(moved_schools[:3]):
        assert push(demo, [item(code, year, seed=n)]).json()["results"][0]["status"] == "applied"
    resp = push(demo, [item(lone_school, year, seed=9)], user="clerk2")
    assert resp.json()["results"][0]["status"] == "applied"

    # Every device pulls everything before the reorganisation.
    devices: dict[str, dict[tuple[str, str], Any]] = {}
    cursors: dict[str, str] = {}
    for user, token in tokens.items():
        changes, cursors[user] = _pull(demo, token)
        devices[user] = {}
        _apply(devices[user], changes)
    assert ("return", f"{FORM}/{year}/{moved_schools[0]}") in devices["reviewer"]
    assert ("school", moved_schools[0]) not in devices["reviewer2"]

    # The reorganisation: the district to another region, one school to another district.
    unit = demo.client.get(f"/api/v1/admin-units/{MOVED_DISTRICT}", headers=tokens["admin"]).json()
    resp = demo.client.put(
        f"/api/v1/admin-units/{MOVED_DISTRICT}",
        headers=tokens["admin"],
        json={"name": unit["name"], "level_name": unit["level_name"], "parent": NEW_REGION},
    )
    assert resp.status_code == 200, resp.text
    school = demo.client.get(f"/api/v1/schools/{lone_school}", headers=tokens["admin"]).json()
    resp = demo.client.put(
        f"/api/v1/schools/{lone_school}",
        headers=tokens["admin"],
        json={**{k: v for k, v in school.items() if k != "code"}, "unit": target_district},
    )
    assert resp.status_code == 200, resp.text

    # GET now: the old region's reviewer is refused, the new one's is served.
    for code in (moved_schools[0], lone_school):
        assert (
            demo.client.get(f"/api/v1/schools/{code}", headers=tokens["reviewer"]).status_code
            == 403
        )
        assert (
            demo.client.get(f"/api/v1/schools/{code}", headers=tokens["reviewer2"]).status_code
            == 200
        )
    assert (
        demo.client.get(f"/api/v1/schools/{lone_school}", headers=tokens["clerk2"]).status_code
        == 403
    )

    for user, token in tokens.items():
        allowed = _what_get_allows(demo, token)
        # From the old cursor: deletes for what left, the data of what arrived.
        changes, _ = _pull(demo, token, cursors[user])
        _apply(devices[user], changes)
        _same(_schools_and_returns(devices[user]), allowed)
        # A fresh pull shows exactly the same.
        fresh: dict[tuple[str, str], Any] = {}
        _apply(fresh, _pull(demo, token)[0])
        _same(_schools_and_returns(fresh), allowed)

    # What each side saw, in the words of the issue.
    gone = {
        (c["type"], c["key"])
        for c in _pull(demo, tokens["reviewer"], cursors["reviewer"])[0]
        if c["op"] == "delete"
    }
    assert ("school", moved_schools[0]) in gone
    assert ("return", f"{FORM}/{year}/{moved_schools[0]}") in gone
    assert ("school", lone_school) in gone and ("return", f"{FORM}/{year}/{lone_school}") in gone
    arrived = devices["reviewer2"]
    assert arrived[("return", f"{FORM}/{year}/{lone_school}")]["revision"] == 1
    assert ("admin_unit", MOVED_DISTRICT) in arrived
