"""The approval ladder: who may approve what at which level, bulk rules, excused schools,
sending back, reopening, and pushes to approved returns."""

from sqlalchemy import select

from app.returns.models import ReturnStatusChange
from tests.review.conftest import DISTRICT
from tests.sync.helpers import FORM, good_values, item, push, school_levels


def _act(demo, who, action, school, year, **body):
    return demo.client.post(
        f"/api/v1/returns/{FORM}/{year}/{school}/{action}", json=body, headers=who
    )


def test_the_default_ladder_is_district_region_nation(demo, ladder):
    resp = demo.client.get("/api/v1/review/ladder", headers=demo.auth("clerk"))
    assert resp.json() == {"levels": [2, 1, 0]}


def test_a_return_climbs_one_rung_at_a_time(demo, ladder):
    year, school = ladder["year"], ladder["schools"][0]
    h = ladder["h"]
    # The region cannot approve before the district has.
    early = _act(demo, h("rev_r"), "approve", school, year)
    assert early.status_code == 409 and "level 2 first" in early.json()["detail"]
    # A district reviewer of another district: outside the area.
    assert _act(demo, h("rev_d2"), "approve", school, year).status_code == 403
    # Clerks and analysts do not review.
    assert _act(demo, h("clerk"), "approve", school, year).status_code == 403
    assert _act(demo, h("analyst"), "approve", school, year).status_code == 403
    # A stale revision is refused.
    stale = _act(demo, h("rev_d"), "approve", school, year, revision=7)
    assert stale.status_code == 409 and stale.json()["errors"][0]["code"] == "STALE_REVISION"

    d = _act(demo, h("rev_d"), "approve", school, year, revision=1, comment="Checked.")
    assert d.status_code == 200, d.text
    assert (d.json()["status"], d.json()["approved_level"]) == ("approved", 2)
    assert _act(demo, h("rev_d"), "approve", school, year).status_code == 409  # already
    # The nation cannot skip the region.
    assert _act(demo, h("rev_n"), "approve", school, year).status_code == 409
    r = _act(demo, h("rev_r"), "approve", school, year)
    assert r.json()["approved_level"] == 1
    n = _act(demo, h("rev_n"), "approve", school, year)
    assert (n.json()["status"], n.json()["approved_level"]) == ("approved", 0)

    history = demo.client.get(
        f"/api/v1/returns/{FORM}/{year}/{school}/history", headers=h("admin")
    ).json()
    assert [c["to_status"] for c in history["status_changes"][-3:]] == ["approved"] * 3
    with demo.factory() as s:
        levels = s.scalars(
            select(ReturnStatusChange.at_level)
            .where(ReturnStatusChange.to_status == "approved")
            .order_by(ReturnStatusChange.id)
        ).all()
    assert list(levels) == [2, 1, 0]


def test_invalid_returns_cannot_be_approved_and_block_the_unit(demo, ladder):
    year, bad = ladder["year"], ladder["schools"][-1]
    h = ladder["h"]
    one = _act(demo, h("rev_d"), "approve", bad, year)
    assert one.status_code == 409 and "invalid" in one.json()["detail"]
    bulk = demo.client.post(
        f"/api/v1/units/{DISTRICT}/approve?form={FORM}&year={year}", json={}, headers=h("rev_d")
    )
    assert bulk.status_code == 409
    assert bad in bulk.json()["detail"]
    assert [e["path"] for e in bulk.json()["errors"]] == [bad]
    # Nothing was approved.
    other = demo.client.get(
        f"/api/v1/returns/{FORM}/{year}/{ladder['schools'][0]}", headers=h("rev_d")
    ).json()
    assert other["status"] == "submitted"


def test_a_unit_is_approved_when_every_school_is_approved_or_excused(demo, ladder):
    year, schools = ladder["year"], ladder["schools"]
    h = ladder["h"]
    bad = schools[-1]
    # The invalid one is sent back; the unit still is not ready (returned, no new revision).
    back = _act(demo, h("rev_d"), "send-back", bad, year, comment="P1 repeaters > pupils.")
    assert back.status_code == 200 and back.json()["status"] == "returned"
    assert back.json()["comments"][-1]["comment"] == "P1 repeaters > pupils."
    url = f"/api/v1/units/{DISTRICT}/approve?form={FORM}&year={year}"
    refused = demo.client.post(url, json={}, headers=h("rev_d"))
    assert refused.status_code == 409
    assert refused.json()["errors"] == [
        {
            "code": "RETURN_RETURNED",
            "path": bad,
            "message": "it was sent back: it needs a new revision",
        }
    ]
    # The clerk fixes it: a new revision climbs again from submitted.
    fixed = push(demo, [item(bad, year, base=1, values=good_values(3, school_levels(demo, bad)))])
    assert fixed.json()["results"][0]["return_status"] == "submitted"
    done = demo.client.post(url, json={"comment": "District checked."}, headers=h("rev_d"))
    assert done.status_code == 200, done.text
    assert done.json() == {
        "unit": DISTRICT,
        "level": 2,
        "approved": len(schools),
        "already": 0,
        "excused": 0,
    }
    # The region approves the district in one step too.
    region = demo.client.post(
        f"/api/v1/units/{DISTRICT}/approve?form={FORM}&year={year}", json={}, headers=h("rev_r")
    )
    assert region.status_code == 200 and region.json()["approved"] == len(schools)
    # The region's own unit is not ready: its other districts have not reported.
    whole = demo.client.post(
        f"/api/v1/units/DM-R01/approve?form={FORM}&year={year}", json={}, headers=h("rev_r")
    )
    assert whole.status_code == 409
    assert {e["code"] for e in whole.json()["errors"]} == {"NO_RETURN"}


def test_excused_schools_count_as_done(demo, ladder):
    year, schools = ladder["year"], ladder["schools"]
    h = ladder["h"]
    # A school with a return cannot be excused; the invalid one's return is there.
    assert (
        demo.client.put(
            f"/api/v1/excuses/{FORM}/{year}/{schools[0]}",
            json={"reason": "x"},
            headers=h("rev_d"),
        ).status_code
        == 409
    )
    # Another year: nobody reported; excuse every school but one, which blocks.
    earlier = demo.result.years[0]
    for code in schools[:-1]:
        resp = demo.client.put(
            f"/api/v1/excuses/{FORM}/{earlier}/{code}",
            json={"reason": "Closed after the earthquake."},
            headers=h("rev_d"),
        )
        assert resp.status_code == 204, resp.text
    url = f"/api/v1/units/{DISTRICT}/approve?form={FORM}&year={earlier}"
    refused = demo.client.post(url, json={}, headers=h("rev_d"))
    assert refused.status_code == 409
    assert refused.json()["errors"] == [
        {"code": "NO_RETURN", "path": schools[-1], "message": "no return and no excuse"}
    ]
    last = demo.client.put(
        f"/api/v1/excuses/{FORM}/{earlier}/{schools[-1]}",
        json={"reason": "Merged into its neighbour."},
        headers=h("rev_d"),
    )
    assert last.status_code == 204
    done = demo.client.post(url, json={}, headers=h("rev_d"))
    assert done.status_code == 200 and done.json()["excused"] == len(schools)
    # Excuses are the reviewers' and within their area.
    assert (
        demo.client.delete(
            f"/api/v1/excuses/{FORM}/{earlier}/{schools[0]}", headers=h("rev_d2")
        ).status_code
        == 403
    )
    assert (
        demo.client.delete(
            f"/api/v1/excuses/{FORM}/{earlier}/{schools[0]}", headers=h("rev_d")
        ).status_code
        == 204
    )


def test_approved_returns_take_no_push_until_sent_back_or_reopened(demo, ladder):
    year, school = ladder["year"], ladder["schools"][0]
    h = ladder["h"]
    assert _act(demo, h("rev_d"), "approve", school, year).status_code == 200
    values = good_values(9, school_levels(demo, school))
    refused = push(demo, [item(school, year, base=1, values=values)]).json()["results"][0]
    assert refused["status"] == "rejected"
    assert refused["errors"][0]["code"] == "RETURN_APPROVED"
    fr = push(
        demo, [item(school, year, base=1, values=values)], headers={"Accept-Language": "fr"}
    ).json()["results"][0]
    assert "approuvé" in fr["errors"][0]["message"]
    # The region's approval cannot be undone by the district.
    assert _act(demo, h("rev_r"), "approve", school, year).status_code == 200
    higher = _act(demo, h("rev_d"), "send-back", school, year, comment="oops")
    assert higher.status_code == 403
    # Only an administrator reopens; the return is then `returned`, and takes a revision.
    assert _act(demo, h("rev_r"), "reopen", school, year, comment="x").status_code == 403
    reopened = _act(demo, h("admin"), "reopen", school, year, comment="Classrooms doubled.")
    assert reopened.status_code == 200
    assert (reopened.json()["status"], reopened.json()["approved_level"]) == ("returned", None)
    again = push(demo, [item(school, year, base=1, values=values)]).json()["results"][0]
    assert (again["status"], again["return_status"]) == ("applied", "submitted")


def test_the_clerk_learns_of_a_send_back_on_the_next_pull(demo, ladder):
    year, school = ladder["year"], ladder["schools"][0]
    h = ladder["h"]
    first = demo.client.get("/api/v1/sync/pull?limit=1000", headers=h("clerk")).json()
    cursor = first["cursor"]
    while first["has_more"]:
        first = demo.client.get(
            f"/api/v1/sync/pull?limit=1000&cursor={cursor}", headers=h("clerk")
        ).json()
        cursor = first["cursor"]
    _act(demo, h("rev_d"), "send-back", school, year, comment="Check the P2 girls.")
    later = demo.client.get(
        f"/api/v1/sync/pull?limit=1000&cursor={cursor}", headers=h("clerk")
    ).json()
    (change,) = [c for c in later["changes"] if c["type"] == "return"]
    assert change["key"] == f"{FORM}/{year}/{school}"
    assert change["data"]["status"] == "returned"
    assert change["data"]["comments"][-1]["comment"] == "Check the P2 girls."
