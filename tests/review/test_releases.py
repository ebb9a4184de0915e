"""Releases: built from approved returns, numbered, immutable byte for byte, compared with the
previous one, exported as CSV and SDMX-CSV that parse back."""

import csv
import io

from app.auth.service import create_user
from app.core.uow import unit_of_work
from app.publishing.exports import SDMX_COLUMNS, STRUCTURE_ID
from tests.review.conftest import DISTRICT, PASSWORD
from tests.sync.helpers import FORM, good_values, item, push, school_levels


def _approve_valid(demo, ladder) -> list[str]:
    """The district reviewer approves every valid return (not the invalid last one)."""
    year, h = ladder["year"], ladder["h"]("rev_d")
    done = []
    for school in ladder["schools"][:-1]:
        resp = demo.client.post(
            f"/api/v1/returns/{FORM}/{year}/{school}/approve", json={}, headers=h
        )
        assert resp.status_code == 200, resp.text
        done.append(school)
    return done


def _release(demo, who, year, note=""):
    return demo.client.post(
        "/api/v1/releases",
        json={"form": FORM, "year": year, **({"note": note} if note else {})},
        headers=who,
    )


def test_a_release_freezes_approved_figures_and_never_changes(demo, ladder):
    year = ladder["year"]
    analyst = demo.auth("analyst")
    assert _release(demo, analyst, year).status_code == 409  # nothing approved yet
    approved = _approve_valid(demo, ladder)
    with unit_of_work(demo.db) as uow:
        create_user(uow.session, "an_r", PASSWORD, "analyst", "DM-R01")
    regional = ladder["h"]("an_r")
    assert _release(demo, regional, year).status_code == 403  # a release is the nation's
    assert _release(demo, ladder["h"]("rev_n"), year).status_code == 403  # reviewers don't
    first = _release(demo, analyst, year, note="Census, first release.")
    assert first.status_code == 201, first.text
    r1 = first.json()
    assert r1["number"] == 1 and r1["coverage"]["returns"] == len(approved)
    body1 = demo.client.get(f"/api/v1/releases/{r1['id']}", headers=analyst)
    assert body1.status_code == 200
    release1 = body1.json()
    assert release1["returns"] == [[s, 1] for s in sorted(approved)]
    (national,) = [
        r
        for r in release1["indicators"]
        if r["unit"] == "DM"
        and r["indicator"] == "GER"
        and r["education_level"] == "primary"
        and not r["disaggregation"]
    ]
    primary = [s for s in approved if "primary" in school_levels(demo, s)]
    assert national["coverage"]["schools_reported"] == len(primary)  # approved ones only
    # The returns it came from are locked: no push, until an administrator reopens one.
    school = approved[0]
    values = good_values(21, school_levels(demo, school))
    locked = push(demo, [item(school, year, base=1, values=values)]).json()["results"][0]
    assert locked["errors"][0]["code"] == "RETURN_LOCKED"
    assert _release(demo, analyst, year).status_code == 409  # nothing changed since

    # A correction: reopened, revised, approved again, then release 2.
    admin = demo.auth("admin")
    reopened = demo.client.post(
        f"/api/v1/returns/{FORM}/{year}/{school}/reopen",
        json={"comment": "Enrolment was typed twice."},
        headers=admin,
    )
    assert reopened.status_code == 200
    values = good_values(99, school_levels(demo, school))  # other, still valid, figures
    fixed = push(demo, [item(school, year, base=1, values=values)]).json()["results"][0]
    assert fixed["status"] == "applied", fixed
    again = demo.client.post(
        f"/api/v1/returns/{FORM}/{year}/{school}/approve", json={}, headers=ladder["h"]("rev_d")
    )
    assert again.status_code == 200
    second = _release(demo, analyst, year, note="Corrections.")
    assert second.status_code == 201 and second.json()["number"] == 2
    r2 = second.json()
    assert r2["digest"] != r1["digest"]
    # Release 1 reads the same, byte for byte.
    assert demo.client.get(f"/api/v1/releases/{r1['id']}", headers=analyst).content == (
        body1.content
    )
    changes = demo.client.get(f"/api/v1/releases/{r2['id']}/changes", headers=analyst).json()
    assert changes["previous"] == 1 and changes["returns_changed"] == [school]
    changed_units = {c["unit"] for c in changes["changes"]}
    assert DISTRICT in changed_units and "DM" in changed_units
    assert all(c["before"] != c["after"] for c in changes["changes"])
    listed = demo.client.get(f"/api/v1/releases?year={year}", headers=regional).json()
    assert [r["number"] for r in listed["items"]] == [1, 2]
    # A regional reader sees the rows of the region only.
    mine = demo.client.get(f"/api/v1/releases/{r2['id']}", headers=regional).json()
    assert mine["indicators"] and "DM" not in {r["unit"] for r in mine["indicators"]}


def test_exports_parse_back(demo, ladder):
    year = ladder["year"]
    _approve_valid(demo, ladder)
    admin = demo.auth("admin")
    # A unit name a spreadsheet would run as a formula.
    unit = demo.client.get(f"/api/v1/admin-units/{DISTRICT}", headers=admin).json()
    renamed = demo.client.put(
        f"/api/v1/admin-units/{DISTRICT}",
        json={
            "name": '=HYPERLINK("http://x.example","y")',
            "level_name": unit["level_name"],
            "parent": unit["parent"],
        },
        headers=admin,
    )
    assert renamed.status_code == 200
    rid = _release(demo, admin, year).json()["id"]
    full = demo.client.get(f"/api/v1/releases/{rid}", headers=admin).json()

    plain = demo.client.get(f"/api/v1/releases/{rid}/export?format=csv", headers=admin)
    assert plain.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(plain.text)))
    assert len(rows) == len(full["indicators"])
    names = {r["unit_name"] for r in rows if r["unit"] == DISTRICT}
    assert names == {"'" + '=HYPERLINK("http://x.example","y")'}  # never a formula

    sdmx = demo.client.get(f"/api/v1/releases/{rid}/export?format=sdmx-csv", headers=admin)
    reader = csv.reader(io.StringIO(sdmx.text))
    header = next(reader)
    assert header == SDMX_COLUMNS
    body = [dict(zip(header, r, strict=True)) for r in reader]
    n_aggregates = sum(len(v) for v in full["aggregates"].values())
    assert len(body) == len(full["indicators"]) + n_aggregates
    assert {r["STRUCTURE"] for r in body} == {"dataflow"}
    assert {r["STRUCTURE_ID"] for r in body} == {STRUCTURE_ID} and {r["ACTION"] for r in body} == {
        "I"
    }
    ger = next(
        r
        for r in full["indicators"]
        if r["unit"] == "DM"
        and r["indicator"] == "GER"
        and r["education_level"] == "primary"
        and not r["disaggregation"]
    )
    (line,) = [
        r
        for r in body
        if r["STAT_UNIT"] == "GER"
        and r["REF_AREA"] == "DM"
        and r["EDU_LEVEL"] == "L1"
        and r["SEX"] == "_T"
    ]
    assert float(line["OBS_VALUE"]) == ger["value"] and line["UNIT_MEASURE"] == "PT"
    assert line["TIME_PERIOD"] == str(year)
    girls = [r for r in body if r["STAT_UNIT"] == "GER" and r["SEX"] == "F"]
    assert girls
    # A null value is an empty cell, never 0.
    nulls = [r for r in full["indicators"] if r["value"] is None]
    if nulls:
        assert any(r["OBS_VALUE"] == "" for r in body)


def test_the_dhis2_export_follows_the_mapping_and_reports_what_it_misses(demo, ladder):
    from app.publishing.service import load_dhis2_mapping

    year = ladder["year"]
    _approve_valid(demo, ladder)
    admin = demo.auth("admin")
    rid = _release(demo, admin, year).json()["id"]
    no_mapping = demo.client.get(f"/api/v1/releases/{rid}/export?format=dhis2", headers=admin)
    assert no_mapping.status_code == 409
    mapping = [
        {"kind": "data_set", "source": "default", "dhis2_id": "pBOMPrpg1QX"},
        {"kind": "org_unit", "source": "DM", "dhis2_id": "ImspTQPwCqd"},
        {"kind": "org_unit", "source": DISTRICT, "dhis2_id": "O6uvpzGd5pu"},
        {
            "kind": "value",
            "source": "GER|primary|sex=F",
            "dhis2_id": "s46m5MS0hxu",
            "category_option_combo": "Prlt0C1RF0s",
        },
        {"kind": "value", "source": "PTR|primary|", "dhis2_id": "fbfJHSPpUQD"},
    ]
    bad = [*mapping, {"kind": "value", "source": "X||", "dhis2_id": "not-a-uid"}]
    with unit_of_work(demo.db) as uow:
        try:
            load_dhis2_mapping(uow, bad)
        except Exception as exc:  # all or nothing: the bad line is named
            assert "BAD_DHIS2_UID" in str(exc.errors)  # type: ignore[attr-defined]
        else:
            raise AssertionError("a bad uid was taken")
    with unit_of_work(demo.db) as uow:
        load_dhis2_mapping(uow, mapping)
    resp = demo.client.get(f"/api/v1/releases/{rid}/export?format=dhis2", headers=admin)
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {"dataSet", "period", "orgUnit", "dataValues"}
    assert (body["dataSet"], body["period"], body["orgUnit"]) == (
        "pBOMPrpg1QX",
        str(year),
        "ImspTQPwCqd",
    )
    full = demo.client.get(f"/api/v1/releases/{rid}", headers=admin).json()
    want = {
        (org, "s46m5MS0hxu", str(r["value"]))
        for r in full["indicators"]
        for unit, org in (("DM", "ImspTQPwCqd"), (DISTRICT, "O6uvpzGd5pu"))
        if r["unit"] == unit
        and r["indicator"] == "GER"
        and r["education_level"] == "primary"
        and r["disaggregation"] == {"sex": "F"}
        and r["value"] is not None
    }
    got = {
        (v["orgUnit"], v["dataElement"], v["value"])
        for v in body["dataValues"]
        if v["dataElement"] == "s46m5MS0hxu"
    }
    assert got == want and len(want) == 2
    assert all(
        v.get("categoryOptionCombo") == "Prlt0C1RF0s"
        for v in body["dataValues"]
        if v["dataElement"] == "s46m5MS0hxu"
    )
    # What the mapping does not name is counted and listed, never dropped silently.
    unmapped = int(resp.headers["X-EMIS-Unmapped"])
    listed = (
        demo.client.get(f"/api/v1/releases/{rid}/export?format=dhis2-unmapped", headers=admin)
        .text.strip()
        .splitlines()[1:]
    )
    assert unmapped == len(listed) > 0
    assert any(line.startswith("GER|primary|sex=F @ DM-R01") for line in listed)
