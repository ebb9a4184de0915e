"""Bad and hostile push bodies get clear answers, never a 500, and store nothing."""

import json

import pytest

from tests.sync.helpers import FORM, clerk_schools, good_values, item, push


def raw_push(demo, body: bytes, user="clerk"):
    return demo.client.post(
        "/api/v1/sync/push",
        content=body,
        headers={**demo.auth(user), "Content-Type": "application/json"},
    )


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b'"text"',
        b'{"device_id": "d"}',
        b'{"device_id": "d", "items": "x"}',
        b'{"device_id": "", "items": []}',
        b'{"items": []}',
    ],
)
def test_malformed_requests_are_422_naming_the_field(demo, body):
    resp = raw_push(demo, body)
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["errors"][0]["path"].startswith("body")


def test_items_that_are_not_objects_are_rejected_one_by_one(demo):
    year = demo.result.years[1]
    good = item(clerk_schools(demo)[0], year)
    resp = raw_push(
        demo,
        json.dumps(
            {"device_id": "d", "items": [1, "a", None, good, {"id": "not-a-uuid"}]}
        ).encode(),
    )
    assert resp.status_code == 200
    statuses = [r["status"] for r in resp.json()["results"]]
    assert statuses == ["rejected", "rejected", "rejected", "applied", "rejected"]
    assert resp.json()["results"][4]["id"] == "not-a-uuid"


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"values": []}, "values"),
        ({"extra": 1}, "extra"),
        ({"year": "twenty"}, "year"),
        ({"base_revision": -1}, "base_revision"),
        ({"captured_at": "yesterday"}, "captured_at"),
    ],
)
def test_bad_item_fields_are_named(demo, change, path):
    it = {**item(clerk_schools(demo)[0], demo.result.years[1]), **change}
    (r,) = push(demo, [it]).json()["results"]
    assert r["status"] == "rejected" and r["errors"][0]["path"] == path


def test_nul_characters_are_refused_before_the_database(demo):
    year = demo.result.years[1]
    values = good_values()
    values["improvement_plan_reviewed"] = "2025-01-01\u0000"
    resp = push(demo, [item(clerk_schools(demo)[0], year, values=values)], device="lap\u0000top")
    assert resp.status_code == 400
    assert "NUL" in resp.json()["detail"]


def test_absurd_counts_and_deep_nesting_are_structure_errors(demo):
    year = demo.result.years[1]
    values = good_values()
    values["seats"] = 10**12
    values["toilets"] = [[[[[{"sex": "F", "value": 1}]]]]]
    (r,) = push(demo, [item(clerk_schools(demo)[0], year, values=values)]).json()["results"]
    assert r["status"] == "rejected"
    assert {e["code"] for e in r["errors"]} == {"NUMBER_TOO_LARGE", "NOT_A_CELL"}


def test_json_nested_beyond_the_parser_limit_is_400(demo):
    deep = b'{"device_id": "d", "items": [' + b"[" * 2000 + b"]" * 2000 + b"]}"
    resp = raw_push(demo, deep)
    assert resp.status_code == 400


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/schools/%00",
        "/api/v1/returns/x%00/2025/y",
        "/api/v1/admin-units?under=%00",
        "/api/v1/sync/pull?cursor=%00",
    ],
)
def test_nul_in_urls_is_never_a_500(demo, path):
    resp = demo.client.get(path, headers=demo.auth("clerk"))
    assert resp.status_code in (400, 404, 410, 422), (resp.status_code, resp.text)


def test_returns_of_other_forms_are_not_mixed_up(demo):
    school = clerk_schools(demo)[0]
    resp = demo.client.get(
        f"/api/v1/returns/{FORM}x/{demo.result.years[1]}/{school}", headers=demo.auth("clerk")
    )
    assert resp.status_code == 404
