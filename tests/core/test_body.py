"""The body guard: one cap for every route, gzip everywhere (every member), strict JSON; and
the text and time rules as they are stored."""

import gzip
import json
from pathlib import Path

from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import make_settings
from tests.sync.helpers import item, push

SCHOOL = "/api/v1/schools/DM-000001"


def school(**change):
    return {"name": "École", "unit": "DM-R01-D001", "ownership": "public", **change}


def test_gzip_bodies_work_on_every_route(demo):
    h = {**demo.auth("admin"), "Content-Encoding": "gzip", "Content-Type": "application/json"}
    resp = demo.client.put(SCHOOL, content=gzip.compress(json.dumps(school()).encode()), headers=h)
    assert resp.status_code == 200, resp.text
    form = gzip.compress(f"username=admin&password={demo.users['admin']}".encode())
    login = demo.client.post(
        "/api/v1/auth/token",
        content=form,
        headers={
            "Content-Encoding": "gzip",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert login.status_code == 200, login.text


def test_every_gzip_member_is_read(demo):
    """RFC 1952 allows several members; the body is all of them, never the first alone."""
    raw = json.dumps(school(name="Deux Membres")).encode()
    packed = gzip.compress(raw[:20]) + gzip.compress(raw[20:])
    h = {**demo.auth("admin"), "Content-Encoding": "gzip", "Content-Type": "application/json"}
    resp = demo.client.put(SCHOOL, content=packed, headers=h)
    assert resp.status_code == 200, resp.text
    assert resp.json()["name"] == "Deux Membres"


def test_the_general_cap_is_a_setting_and_push_keeps_its_own(demo_url, tmp_path: Path, demo):
    settings = make_settings(demo_url, tmp_path).model_copy(update={"max_body_bytes": 2048})
    token = demo.auth("admin")
    with TestClient(create_app(settings)) as c:
        big = school(attributes={"note": "x" * 3000})
        assert c.put(SCHOOL, json=big, headers=token).status_code == 413
        push = {"device_id": "d", "items": [], "pad": "x" * 3000}  # over 2048, under push's cap
        resp = c.post("/api/v1/sync/push", json=push, headers=token)
        assert resp.status_code == 422  # read and parsed: refused for the unknown field only
        # a declared length over the cap is refused before the body is read
        resp = c.put(
            SCHOOL,
            content=b" " * 5000,
            headers={**token, "Content-Type": "application/json"},
        )
        assert resp.status_code == 413
        assert resp.headers["content-type"].startswith("application/problem+json")


def test_text_is_stored_in_nfc_and_times_in_utc(demo):
    h = demo.auth("admin")
    resp = demo.client.put(SCHOOL, json=school(name="Cafe\u0301"), headers=h)
    assert resp.json()["name"] == "Caf\u00e9"
    year = {
        "label": "2031/32",
        "reference_date": "2031-11-15",
        "window_opens": "2031-11-01T00:00:00-05:00",
        "window_closes": "2032-03-31T23:59:59+14:00",
    }
    got = demo.client.put("/api/v1/school-years/2031", json=year, headers=h).json()
    assert got["window_opens"].startswith("2031-11-01T05:00:00")
    assert got["window_closes"].startswith("2032-03-31T09:59:59")


def test_a_school_year_read_can_be_sent_back(demo):
    """Read-only fields of what GET answered (year, is_open) are ignored, not refused."""
    h = demo.auth("admin")
    year = demo.result.years[0]
    got = demo.client.get(f"/api/v1/school-years/{year}", headers=h).json()
    assert demo.client.put(f"/api/v1/school-years/{year}", json=got, headers=h).status_code == 200


def test_formula_like_names_are_neutralised_in_csv_exports(demo):
    """Free text may look like a formula; a spreadsheet must not run it from our CSV."""
    h = demo.auth("admin")
    year = demo.result.years[1]
    formula = '=HYPERLINK("http://evil.example/","click")'
    unit = {"name": formula, "level_name": "region", "parent": "DM"}
    assert demo.client.put("/api/v1/admin-units/DM-R09", json=unit, headers=h).status_code == 200
    new = school(name="+SUM(A1:A9)", unit="DM-R09", levels=["primary"])
    assert demo.client.put("/api/v1/schools/DM-R09-1", json=new, headers=h).status_code == 200
    (result,) = push(demo, [item("DM-R09-1", year)], user="admin").json()["results"]
    assert result["status"] == "applied", result
    for url in (
        f"/api/v1/aggregates?year={year}&element=enrolment&level=1&format=csv",
        f"/api/v1/indicators?year={year}&level=1&indicator=GER&format=csv",
    ):
        resp = demo.client.get(url, headers=h)
        assert resp.status_code == 200, resp.text
        assert "'=HYPERLINK" in resp.text, resp.text[:500]
        assert ",=HYPERLINK" not in resp.text and "\n=HYPERLINK" not in resp.text
