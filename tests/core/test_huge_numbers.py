"""Integers too large for the database (2**63 and up) are a 422 naming the field, never a 500."""

import pytest

from tests.sync.helpers import FORM, clerk_schools, item, push

HUGE = 2**63


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/school-years/{HUGE}",
        f"/api/v1/returns/{FORM}/{HUGE}/DM-000001",
        f"/api/v1/returns/{FORM}/{HUGE}/DM-000001/history",
        f"/api/v1/returns?year={HUGE}",
        f"/api/v1/forms/{FORM}/{HUGE}",
        f"/api/v1/admin-units?level={HUGE}",
        f"/api/v1/population?unit=DM&year={HUGE}",
    ],
)
def test_huge_numbers_in_urls_are_422(demo, path):
    resp = demo.client.get(path, headers=demo.auth("admin"))
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["errors"][0]["path"].startswith(("path.", "query."))


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        (
            "put",
            "/api/v1/population",
            {
                "unit": "DM",
                "rows": [{"unit": "DM", "year": 2025, "age": 6, "sex": "F", "value": HUGE}],
            },
            "value",
        ),
        (
            "put",
            "/api/v1/education-levels/x",
            {"name": "x", "sequence": HUGE, "entrance_age": 4, "duration": 1, "grades": ["G"]},
            "sequence",
        ),
    ],
)
def test_huge_numbers_in_bodies_are_422_naming_the_field(demo, method, path, body, field):
    resp = demo.client.request(method, path, json=body, headers=demo.auth("admin"))
    assert resp.status_code == 422, resp.text
    assert any(e["path"].endswith(field) for e in resp.json()["errors"])


def test_a_huge_form_version_rejects_only_its_item(demo):
    """One item with an absurd form version is rejected; the rest of the batch is applied."""
    year = demo.result.years[1]
    bad_school, good_school = clerk_schools(demo)[:2]
    bad = {**item(bad_school, year), "form_version": HUGE}
    good = item(good_school, year)
    resp = push(demo, [bad, good])
    assert resp.status_code == 200, resp.text
    first, second = resp.json()["results"]
    assert first["status"] == "rejected" and first["errors"][0]["path"] == "form_version"
    assert second["status"] == "applied"


def test_booleans_and_strings_are_not_numbers(demo):
    """`true` or "7" where a number belongs is refused, never read as 1 or 7."""
    level = {"name": "x", "sequence": 1, "entrance_age": False, "duration": 1, "grades": ["G"]}
    resp = demo.client.put("/api/v1/education-levels/x", json=level, headers=demo.auth("admin"))
    assert resp.status_code == 422
    assert any(e["path"].endswith("entrance_age") for e in resp.json()["errors"])
    year = demo.result.years[1]
    school = clerk_schools(demo)[0]
    items = [
        {**item(school, year), "form_version": True},
        {**item(school, year), "year": str(year)},
    ]
    results = push(demo, items).json()["results"]
    assert [r["status"] for r in results] == ["rejected", "rejected"]
    assert [r["errors"][0]["path"] for r in results] == ["form_version", "year"]
