"""Push items stand alone and ids are ids: a retry re-serialised with other key and cell order is
`duplicate`, an id in upper case is its lower-case twin, a time stamp without a zone (or one that
is no real instant) rejects only its own item, and a push id known from another area reveals
nothing of it."""

import json
import random

from tests.sync.helpers import FORM, clerk_schools, item, push


def _reshuffled(values: dict) -> dict:
    """The same cells written another way: keys reversed, cells shuffled, ages as text."""
    rng = random.Random(5)
    out = {}
    for code in reversed(list(values)):
        v = values[code]
        if isinstance(v, list):
            cells = [{k: (str(c[k]) if k == "age" else c[k]) for k in reversed(list(c))} for c in v]
            rng.shuffle(cells)
            out[code] = cells
        else:
            out[code] = v
    return out


def test_a_reserialised_retry_is_a_duplicate(demo):
    year = demo.result.years[1]
    it = item(clerk_schools(demo)[0], year)
    first = push(demo, [it]).json()["results"][0]
    assert first["status"] == "applied"
    again = {**it, "values": _reshuffled(it["values"])}
    assert json.dumps(again["values"]) != json.dumps(it["values"])
    second = push(demo, [again]).json()["results"][0]
    assert (second["status"], second["revision"]) == ("duplicate", 1)


def test_an_upper_case_id_is_the_same_id(demo):
    year = demo.result.years[1]
    it = item(clerk_schools(demo)[0], year)
    assert push(demo, [it]).json()["results"][0]["status"] == "applied"
    upper = {**it, "id": it["id"].upper()}
    (r,) = push(demo, [upper]).json()["results"]
    assert (r["status"], r["revision"], r["id"]) == ("duplicate", 1, it["id"])


def test_bad_time_stamps_reject_only_their_item(demo):
    year = demo.result.years[1]
    a, b, c, d = clerk_schools(demo)[:4]
    naive = {**item(a, year), "captured_at": "2026-03-02T10:15:00"}
    beyond = {**item(b, year), "captured_at": "9999-12-31T23:59:59-14:00"}
    number = {**item(c, year), "captured_at": 12345}
    good = item(d, year)
    resp = push(demo, [naive, beyond, good, number])
    assert resp.status_code == 200, resp.text
    statuses = [(r["status"], [e["path"] for e in r["errors"]]) for r in resp.json()["results"]]
    assert statuses == [
        ("rejected", ["captured_at"]),
        ("rejected", ["captured_at"]),
        ("applied", []),
        ("rejected", ["captured_at"]),
    ]
    got = demo.client.get(f"/api/v1/returns/{FORM}/{year}/{d}", headers=demo.auth("clerk"))
    assert got.status_code == 200
    for school in (a, b, c):
        missing = demo.client.get(
            f"/api/v1/returns/{FORM}/{year}/{school}", headers=demo.auth("clerk")
        )
        assert missing.status_code == 404


def test_a_push_id_from_another_area_reveals_nothing(demo):
    year = demo.result.years[1]
    mine = item(clerk_schools(demo)[0], year)
    assert push(demo, [mine]).json()["results"][0]["status"] == "applied"
    # clerk2 sends the very same item (same id, same school in clerk's district).
    (r,) = push(demo, [mine], user="clerk2").json()["results"]
    assert r["status"] == "rejected"
    assert [e["code"] for e in r["errors"]] == ["OUTSIDE_AREA"]
    assert r["revision"] is None and r["return_status"] is None and r["warnings"] == []
