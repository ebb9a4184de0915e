"""POST /api/v1/sync/push: every status, retries, partial batches, limits, gzip, window, area."""

import gzip
import json

import pytest

from tests.sync.helpers import FORM, cells, clerk_schools, good_values, item, push


@pytest.fixture
def year(demo) -> int:
    return demo.result.years[1]  # the open year


@pytest.fixture
def school(demo) -> str:
    return clerk_schools(demo)[0]


def history(demo, school, year, user="clerk"):
    return demo.client.get(
        f"/api/v1/returns/{FORM}/{year}/{school}/history", headers=demo.auth(user)
    ).json()


def test_first_push_is_applied_and_readable(demo, school, year):
    it = item(school, year)
    resp = push(demo, [it])
    assert resp.status_code == 200
    (result,) = resp.json()["results"]
    assert result["id"] == it["id"]
    assert result["status"] == "applied" and result["revision"] == 1
    assert (
        result["return_status"] == "submitted"
        and result["errors"] == []
        and result["current"] is None
    )
    current = demo.client.get(
        f"/api/v1/returns/{FORM}/{year}/{school}", headers=demo.auth("clerk")
    ).json()
    assert current["revision"] == 1 and cells(current["values"]) == cells(it["values"])
    assert current["updated_by"] == "clerk" and current["status"] == "submitted"


def test_same_id_same_content_is_a_duplicate_and_changes_nothing(demo, school, year):
    it = item(school, year)
    first = push(demo, [it]).json()["results"][0]
    again = push(demo, [it]).json()["results"][0]
    assert again["status"] == "duplicate"
    assert (again["revision"], again["return_status"], again["warnings"]) == (
        first["revision"],
        first["return_status"],
        first["warnings"],
    )
    assert len(history(demo, school, year)["revisions"]) == 1


def test_same_id_other_content_is_a_conflict(demo, school, year):
    it = item(school, year)
    push(demo, [it])
    changed = {**it, "values": good_values(seed=99)}
    result = push(demo, [changed]).json()["results"][0]
    assert result["status"] == "conflict"
    assert result["errors"][0]["code"] == "ID_REUSED"
    assert len(history(demo, school, year)["revisions"]) == 1


def test_stale_base_revision_is_a_conflict_with_the_current_return(demo, school, year):
    push(demo, [item(school, year, seed=1)])
    result = push(demo, [item(school, year, base=0, seed=2)], device="laptop-2").json()["results"][
        0
    ]
    assert result["status"] == "conflict"
    assert result["current"]["revision"] == 1
    assert cells(result["current"]["values"]) == cells(good_values(seed=1))
    newer = push(demo, [item(school, year, base=1, seed=3)]).json()["results"][0]
    assert newer["status"] == "applied" and newer["revision"] == 2
    stale = push(demo, [item(school, year, base=1, seed=4)]).json()["results"][0]
    assert stale["status"] == "conflict" and stale["current"]["revision"] == 2


def test_history_keeps_every_revision(demo, school, year):
    a = item(school, year, seed=1)
    b = item(school, year, base=1, seed=2)
    push(demo, [a, b], device="laptop-7")
    h = history(demo, school, year)
    assert [r["revision"] for r in h["revisions"]] == [1, 2]
    assert [r["push_id"] for r in h["revisions"]] == [a["id"], b["id"]]
    assert (
        cells(h["revisions"][0]["values"]) == cells(a["values"])
        and h["revisions"][0]["device_id"] == "laptop-7"
    )
    assert h["revisions"][1]["user"] == "clerk"
    assert [c["to_status"] for c in h["status_changes"]] == ["submitted", "submitted"]


def test_a_bad_item_between_good_ones_stands_alone(demo, year):
    s1, s2, s3 = clerk_schools(demo)[:3]
    bad_values = good_values()
    bad_values["enrolment"][0]["value"] = -4
    items = [item(s1, year), item(s2, year, values=bad_values), item(s3, year)]
    results = push(demo, items).json()["results"]
    assert [r["status"] for r in results] == ["applied", "rejected", "applied"]
    assert [r["id"] for r in results] == [i["id"] for i in items]
    assert results[1]["errors"][0]["path"].startswith("values.enrolment[0]")
    missing = demo.client.get(f"/api/v1/returns/{FORM}/{year}/{s2}", headers=demo.auth("clerk"))
    assert missing.status_code == 404


def test_rule_errors_store_the_revision_as_invalid(demo, school, year):
    values = good_values()
    p1f = next(r for r in values["repeaters"] if r["grade"] == "P1" and r["sex"] == "F")
    p1f["value"] = 10_000
    result = push(demo, [item(school, year, values=values)]).json()["results"][0]
    assert result["status"] == "applied" and result["return_status"] == "invalid"
    assert result["errors"]
    current = demo.client.get(
        f"/api/v1/returns/{FORM}/{year}/{school}", headers=demo.auth("clerk")
    ).json()
    assert current["status"] == "invalid" and current["errors"] == result["errors"]


def test_malformed_item_is_rejected_naming_the_field(demo, school, year):
    it = item(school, year)
    del it["school"]
    result = push(demo, [it]).json()["results"][0]
    assert result["status"] == "rejected"
    assert result["errors"][0]["code"] == "INVALID_ITEM" and result["errors"][0]["path"] == "school"


def test_closed_window_is_rejected(demo, school):
    earlier = demo.result.years[0]
    result = push(demo, [item(school, earlier)]).json()["results"][0]
    assert result["status"] == "rejected" and result["errors"][0]["code"] == "WINDOW_CLOSED"


def test_out_of_area_school_is_rejected(demo, year):
    other = clerk_schools(demo, "clerk2")[0]
    result = push(demo, [item(other, year)]).json()["results"][0]
    assert result["status"] == "rejected" and result["errors"][0]["code"] == "OUTSIDE_AREA"


def test_unknown_school_form_and_year_are_rejected(demo, school, year):
    items = [item("NO-SUCH", year), {**item(school, year), "form_version": 9}, item(school, 1999)]
    codes = [r["errors"][0]["code"] for r in push(demo, items).json()["results"]]
    assert codes == ["UNKNOWN_SCHOOL", "UNKNOWN_FORM", "UNKNOWN_YEAR"]


def test_roles_that_do_not_collect_cannot_push(demo, school, year):
    assert push(demo, [item(school, year)], user="analyst").status_code == 403


def test_too_many_items_is_413_and_stores_nothing(demo, school, year):
    limit = demo.client.get("/api/v1/sync/config", headers=demo.auth("clerk")).json()["max_items"]
    resp = push(demo, [item(school, year) for _ in range(limit + 1)])
    assert resp.status_code == 413
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert (
        demo.client.get(
            f"/api/v1/returns/{FORM}/{year}/{school}", headers=demo.auth("clerk")
        ).status_code
        == 404
    )


def test_too_many_bytes_is_413(demo, school, year):
    limit = demo.client.get("/api/v1/sync/config", headers=demo.auth("clerk")).json()["max_bytes"]
    big = item(school, year)
    big["values"]["padding"] = "x" * (limit + 10)
    assert push(demo, [big]).status_code == 413


def test_gzip_body_is_accepted(demo, school, year):
    it = item(school, year)
    body = gzip.compress(json.dumps({"device_id": "laptop-1", "items": [it]}).encode())
    resp = demo.client.post(
        "/api/v1/sync/push",
        content=body,
        headers={
            **demo.auth("clerk"),
            "Content-Encoding": "gzip",
            "Content-Type": "application/json",
        },
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["results"][0]["status"] == "applied"


def test_bad_json_is_a_problem_and_stores_nothing(demo):
    resp = demo.client.post(
        "/api/v1/sync/push",
        content=b"{not json",
        headers={**demo.auth("clerk"), "Content-Type": "application/json"},
    )
    assert resp.status_code == 400
    assert resp.headers["content-type"].startswith("application/problem+json")
    bad_gzip = demo.client.post(
        "/api/v1/sync/push",
        content=b"nope",
        headers={**demo.auth("clerk"), "Content-Encoding": "gzip"},
    )
    assert bad_gzip.status_code == 400


def test_messages_follow_accept_language(demo, school, year):
    values = good_values()
    values["enrolment"][0]["value"] = -1
    en = push(demo, [item(school, year, values=values)]).json()["results"][0]["errors"][0][
        "message"
    ]
    fr = push(demo, [item(school, year, values=values)], headers={"Accept-Language": "fr"}).json()[
        "results"
    ][0]["errors"][0]["message"]
    assert en != fr


def test_returns_list_is_filtered_by_area_and_status(demo, year):
    s1, s2 = clerk_schools(demo)[:2]
    push(demo, [item(s1, year), item(s2, year)])
    other = clerk_schools(demo, "clerk2")[0]
    push(demo, [item(other, year)], user="clerk2")
    mine = demo.client.get(f"/api/v1/returns?year={year}", headers=demo.auth("clerk")).json()
    assert sorted(r["school"] for r in mine["items"]) == sorted([s1, s2])
    everyone = demo.client.get(
        f"/api/v1/returns?year={year}&status=submitted&limit=1", headers=demo.auth("analyst")
    ).json()
    assert len(everyone["items"]) == 1 and everyone["next_cursor"]


def test_reopened_window_and_plausibility_against_last_year(demo, school, year):
    earlier = demo.result.years[0]
    admin = demo.auth("admin")
    y = demo.client.get(f"/api/v1/school-years/{earlier}", headers=admin).json()
    assert y["is_open"] is False
    y["reopened_until"] = "2099-01-01T00:00:00Z"
    reopened = demo.client.put(
        f"/api/v1/school-years/{earlier}",
        headers=admin,
        json={
            k: y[k]
            for k in ("label", "reference_date", "window_opens", "window_closes", "reopened_until")
        },
    )
    assert reopened.json()["is_open"] is True
    last_year = good_values(seed=1)
    for c in last_year["enrolment"]:
        c["value"] //= 2
    r = push(demo, [item(school, earlier, values=last_year)]).json()["results"][0]
    assert r["status"] == "applied"
    this_year = push(demo, [item(school, year, seed=1)]).json()["results"][0]
    assert this_year["status"] == "applied"
    assert {"ENROL_CHANGE", "COHORT_JUMP"} <= {w["code"] for w in this_year["warnings"]}
    alone = push(demo, [item(clerk_schools(demo)[1], year, seed=1)]).json()["results"][0]
    assert not {"ENROL_CHANGE", "COHORT_JUMP"} & {w["code"] for w in alone["warnings"]}


def test_a_window_reopened_in_one_database_stays_closed_in_another(
    demo, school, db_factory, tmp_path
):
    """One process serving two databases (as a test run or a CLI copy does) keeps what it caches
    of each apart: reopening last year's window in one leaves the other's closed."""
    from fastapi.testclient import TestClient

    from app.main import create_app
    from tests.conftest import Demo, _build_demo, make_settings, passwords

    earlier = demo.result.years[0]
    admin = demo.auth("admin")
    y = demo.client.get(f"/api/v1/school-years/{earlier}", headers=admin).json()
    keep = ("label", "reference_date", "window_opens", "window_closes")
    demo.client.put(
        f"/api/v1/school-years/{earlier}",
        headers=admin,
        json={**{k: y[k] for k in keep}, "reopened_until": "2099-01-01T00:00:00Z"},
    ).raise_for_status()
    assert push(demo, [item(school, earlier)]).json()["results"][0]["status"] == "applied"

    url = db_factory.copy(db_factory.template("demo", _build_demo))
    try:
        with TestClient(create_app(make_settings(url, tmp_path / "other"))) as c:
            other = Demo(url, c, passwords(demo.result), demo.result, demo.factory, demo.db)
            (r,) = push(other, [item(school, earlier)]).json()["results"]
        assert r["status"] == "rejected" and r["errors"][0]["code"] == "WINDOW_CLOSED"
    finally:
        db_factory.drop(url)


def test_the_push_speaks_the_clerks_language(demo, school, year):
    """Rejections the push makes itself (before the form's checks) follow Accept-Language."""
    other = clerk_schools(demo, "clerk2")[0]
    items = [
        item(other, year),
        item("NO-SUCH", year),
        item(school, demo.result.years[0]),
        {**item(school, year), "form_version": 9},
        {**item(school, year), "base_revision": -1},
    ]
    by_lang = {
        lang: [
            r["errors"][0]
            for r in push(demo, items, headers={"Accept-Language": lang}).json()["results"]
        ]
        for lang in ("fr", "en")
    }
    assert (
        [e["code"] for e in by_lang["fr"]]
        == [e["code"] for e in by_lang["en"]]
        == [
            "OUTSIDE_AREA",
            "UNKNOWN_SCHOOL",
            "WINDOW_CLOSED",
            "UNKNOWN_FORM",
            "INVALID_ITEM",
        ]
    )
    fr = [e["message"] for e in by_lang["fr"]]
    assert "hors de votre zone" in fr[0] and "Aucune école" in fr[1]
    assert "période de recensement" in fr[2] and "Aucun formulaire" in fr[3]
    assert "n'est pas valide" in fr[4] and "base_revision" in fr[4]
    en = [e["message"] for e in by_lang["en"]]
    assert "outside your area" in en[0] and "No school" in en[1] and "closed on" in en[2]


def test_stored_findings_are_read_in_the_readers_language(demo, school, year):
    """A clerk pushes in French; a reviewer reading in English gets English messages, and the
    French reader French ones, in the return, its history, the pull and a repeated push."""
    values = good_values()
    p1f = next(r for r in values["repeaters"] if r["grade"] == "P1" and r["sex"] == "F")
    p1f["value"] = 10_000
    it = item(school, year, values=values)
    pushed = push(demo, [it], headers={"Accept-Language": "fr"}).json()["results"][0]
    fr_message = next(e["message"] for e in pushed["errors"] if e["code"] == "REP_LE_ENR")
    assert "redoublants" in fr_message.lower()

    def rep_message(findings):
        return next(e["message"] for e in findings if e["code"] == "REP_LE_ENR")

    base = f"/api/v1/returns/{FORM}/{year}/{school}"
    for lang, expected in (("en", "more repeaters than pupils"), ("fr", fr_message.lower())):
        h = {**demo.auth("clerk"), "Accept-Language": lang}
        current = demo.client.get(base, headers=h).json()
        history = demo.client.get(base + "/history", headers=h).json()
        assert expected in rep_message(current["errors"]).lower()
        assert expected in rep_message(history["revisions"][0]["errors"]).lower()
        again = push(demo, [it], headers={"Accept-Language": lang}).json()["results"][0]
        assert again["status"] == "duplicate"
        assert expected in rep_message(again["errors"]).lower()
    pulled = demo.client.get(
        "/api/v1/sync/pull?limit=1000", headers={**demo.auth("clerk"), "Accept-Language": "en"}
    ).json()
    change = next(c for c in pulled["changes"] if c["key"] == f"{FORM}/{year}/{school}")
    assert "more repeaters than pupils" in rep_message(change["data"]["errors"]).lower()
    assert "messages" not in change["data"]["errors"][0]
