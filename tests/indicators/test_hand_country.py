"""Every indicator of the hand-made country (tests/indicators/country.py), worked out by hand.

Reminders from country.py: every school is the base school times k; each district has schools
with k = 1, 2, 3 (sum 6; the nation: 24), the k = 3 school also teaches lower secondary; HC-NEW
(k = 1, district D001) reports only in 2025. District D004 has no population.
Base school, 2024: primary pupils F 12+10+8 = 30, M 12+10+8 = 30, total 60; of official age
(6-8) F 12+10+8 = 30, M 12+8+6 = 26, total 56; repeaters 1+2+1+1+0+1 = 6; teachers 3 (2
qualified, 2 trained); usable classrooms 1+1 = 2. Secondary part (k = 3 schools): S1 7+6 = 13,
S2 4+5 = 9, one S1 girl aged 8 (a primary official age). Population per district (not D004),
each single age 6..11: F 110, M 130."""

from collections.abc import Iterator
from fractions import Fraction as Fr
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.db import make_engine
from app.core.uow import Database
from app.main import create_app
from tests.conftest import make_settings
from tests.indicators import country
from tests.indicators.country import T1, T

NAT, D1, D4 = "DM", "DM-R01-D001", "DM-R02-D004"


@pytest.fixture
def api(db_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str], Database]]:
    engine = make_engine(db_url)
    db = Database(engine)
    country.build(db)
    with TestClient(create_app(make_settings(db_url, tmp_path))) as c:
        token = c.post(
            "/api/v1/auth/token", data={"username": "admin", "password": country.PASSWORD}
        ).json()["access_token"]
        yield c, {"Authorization": f"Bearer {token}"}, db
    engine.dispose()


def rows(api: Any, **params: Any) -> list[dict[str, Any]]:
    c, h, _ = api
    resp = c.get("/api/v1/indicators", params={"form": country.FORM, **params}, headers=h)
    assert resp.status_code == 200, resp.text
    return resp.json()["rows"]  # type: ignore[no-any-return]


def one(
    found: list[dict[str, Any]],
    unit: str,
    indicator: str,
    level: str | None = "primary",
    **dis: str,
) -> dict[str, Any]:
    hits = [
        r
        for r in found
        if r["unit"] == unit and r["indicator"] == indicator and r["education_level"] == level
        and r["disaggregation"] == dis
    ]  # fmt: skip
    assert len(hits) == 1, (unit, indicator, level, dis, hits)
    return hits[0]


def check(
    row: dict[str, Any], num: Any, den: Any, value: Any, expected: int, reported: int
) -> None:
    for got, want in ((row["numerator"], num), (row["denominator"], den)):
        assert got is None if want is None else got == pytest.approx(float(want)), row
    if value is None:
        assert row["value"] is None, row
    else:
        assert row["value"] == pytest.approx(float(value), rel=1e-6), row
    assert row["coverage"]["schools_expected"] == expected, row
    assert row["coverage"]["schools_reported"] == reported, row


def test_one_year_indicators_nation_and_district(api: Any) -> None:
    r = rows(api, year=T, level="0,2")
    # Nation 2024: 12 schools report (HC-NEW has no 2024 return), 13 are open.
    # GER = E(primary) / P(6..8) = 24 x 60 / (3 districts x 3 ages x 240) = 1440 / 2160
    check(one(r, NAT, "GER"), 1440, 2160, Fr(1440, 2160) * 100, 13, 12)
    # NER = pupils aged 6..8 in primary / P(6..8) = 24 x 56 / 2160
    check(one(r, NAT, "NER"), 1344, 2160, Fr(1344, 2160) * 100, 13, 12)
    # ANER adds the S1 girls aged 8: 1 x k=3 x 4 schools = 12 -> 1356
    check(one(r, NAT, "ANER"), 1356, 2160, Fr(1356, 2160) * 100, 13, 12)
    # OOSR = (P(6..8) - ANER numerator) / P(6..8) = (2160 - 1356) / 2160
    check(one(r, NAT, "OOSR"), 804, 2160, Fr(804, 2160) * 100, 13, 12)
    # GIR = (E(P1) - R(P1)) / P(6) = 24 x (24 - 3) / (3 x 240) = 504 / 720
    check(one(r, NAT, "GIR"), 504, 720, 70, 13, 12)
    # NIR = new entrants aged 6 / P(6) = 24 x (9 + 6) / 720 = 360 / 720
    check(one(r, NAT, "NIR"), 360, 720, 50, 13, 12)
    # GIR_LAST = (E(P3) - R(P3)) / P(8) = 24 x (16 - 1) / 720
    check(one(r, NAT, "GIR_LAST"), 360, 720, 50, 13, 12)
    # PCT_REP = R / E = 24 x 6 / 1440 (the share of repeaters, not a rate)
    check(one(r, NAT, "PCT_REP"), 144, 1440, 10, 13, 12)
    # PTR = 1440 / (24 x 3); PQTR and PTTR = 1440 / (24 x 2); QUAL_TEACH = 48 / 72
    check(one(r, NAT, "PTR"), 1440, 72, 20, 13, 12)
    check(one(r, NAT, "PQTR"), 1440, 48, 30, 13, 12)
    check(one(r, NAT, "PTTR"), 1440, 48, 30, 13, 12)
    check(one(r, NAT, "QUAL_TEACH"), 48, 72, Fr(200, 3), 13, 12)
    check(one(r, NAT, "TRAIN_TEACH"), 48, 72, Fr(200, 3), 13, 12)
    # PCR = all pupils / usable classrooms = (1440 + 4 schools x 3 x 22) / (24 x 2) = 1704 / 48
    check(one(r, NAT, "PCR", None), 1704, 48, Fr(1704, 48), 13, 12)
    # Electricity where k is odd: 2 of the 3 schools of each district: 8 of 12
    check(one(r, NAT, "FAC_ELECTRICITY", None), 8, 12, Fr(200, 3), 13, 12)
    # Lower secondary: GER = 4 x 3 x (13 + 9) / P(9..10) = 264 / (3 x 2 x 240)
    check(one(r, NAT, "GER", "lower_secondary"), 264, 1440, Fr(264, 1440) * 100, 4, 4)

    # District D001 in 2024: k = 1, 2, 3 (sum 6); HC-NEW is open but has no 2024 return.
    # GER = 6 x 60 / (3 x 240) = 360 / 720; NER = 6 x 56 / 720; ANER = (336 + 3) / 720
    check(one(r, D1, "GER"), 360, 720, 50, 4, 3)
    check(one(r, D1, "NER"), 336, 720, Fr(336, 720) * 100, 4, 3)
    check(one(r, D1, "ANER"), 339, 720, Fr(339, 720) * 100, 4, 3)
    check(one(r, D1, "GIR"), 126, 240, Fr(126, 240) * 100, 4, 3)
    # District D004 has no population: a ratio over population is null, never 0, not an error.
    check(one(r, D4, "GER"), 360, None, None, 3, 3)
    check(one(r, D4, "NIR"), 90, None, None, 3, 3)
    # ... while a ratio that needs no population is there: PTR = 360 / 18
    check(one(r, D4, "PTR"), 360, 18, 20, 3, 3)


def test_by_sex_and_parity(api: Any) -> None:
    r = rows(api, year=T, level="0", by="sex", indicator="GER,NER,GPI_GER,GPIA_GER,PTR")
    # GER(F) = 24 x 30 / (3 x 3 x 110) = 720 / 990; GER(M) = 720 / (3 x 3 x 130) = 720 / 1170
    f = one(r, NAT, "GER", sex="F")
    m = one(r, NAT, "GER", sex="M")
    check(f, 720, 990, Fr(720, 990) * 100, 13, 12)
    check(m, 720, 1170, Fr(720, 1170) * 100, 13, 12)
    # NER(M) = 24 x 26 / 1170
    check(one(r, NAT, "NER", sex="M"), 624, 1170, Fr(624, 1170) * 100, 13, 12)
    # GPI = GER(F) / GER(M) = (720/990) / (720/1170) = 1170 / 990 = 13 / 11
    gpi = one(r, NAT, "GPI_GER")
    assert gpi["value"] == pytest.approx(13 / 11, rel=1e-6)
    assert gpi["numerator"] == pytest.approx(f["value"]) and gpi["denominator"] == pytest.approx(
        m["value"]
    )
    # Adjusted GPI, F > M: 2 - M/F = 2 - 11/13 = 15/13
    assert one(r, NAT, "GPIA_GER")["value"] == pytest.approx(15 / 13, rel=1e-6)
    # Pupils per teacher is not split by sex: one row, for both sexes.
    assert one(r, NAT, "PTR")["value"] == 20


def test_flow_rates_and_cohort(api: Any) -> None:
    r = rows(api, year=T, level="0,2", indicator="PR,RR,DR,EPR,ETR,SR,SR_LAST,CE,YIG")
    # Base year 2024, outcome 2025; only the 12 schools that reported in both years count
    # (HC-NEW is expected in 2025 but has no 2024 return): coverage 12 of 13.
    # P1: E0 = 24 x 24 = 576; promoted = NE(P2, 2025) = 24 x ((10 - 1) + (11 - 2)) = 432;
    #     repeaters R(P1, 2025) = 24 x 2 = 48
    pr = one(r, NAT, "PR", grade="P1")
    check(pr, 432, 576, 75, 13, 12)
    assert (pr["base_year"], pr["outcome_year"]) == (T, T1)
    assert "caveat" not in pr  # national figures: no transfers across the boundary
    check(one(r, NAT, "RR", grade="P1"), 48, 576, Fr(48, 576) * 100, 13, 12)
    check(one(r, NAT, "DR", grade="P1"), 576 - 432 - 48, 576, Fr(96, 576) * 100, 13, 12)
    # EPR(P1) = 432 / (576 - 48)
    check(one(r, NAT, "EPR", grade="P1"), 432, 528, Fr(432, 528) * 100, 13, 12)
    # P2: E0 = 24 x 20 = 480; NE(P3, 2025) = 24 x ((9 - 1) + (8 - 1)) = 360; R(P2, 2025) = 24 x 3
    check(one(r, NAT, "PR", grade="P2"), 360, 480, 75, 13, 12)
    check(one(r, NAT, "RR", grade="P2"), 72, 480, 15, 13, 12)
    # P3 (last grade): promotion is graduation: graduates reported in 2025 = 24 x 13 = 312
    # over E0(P3) = 24 x 16 = 384; R(P3, 2025) = 24 x 2 = 48
    p3 = one(r, NAT, "PR", grade="P3")
    check(p3, 312, 384, Fr(312, 384) * 100, 13, 12)
    assert p3["details"]["promotion_from"] == "graduates"
    check(one(r, NAT, "RR", grade="P3"), 48, 384, Fr(48, 384) * 100, 13, 12)
    check(one(r, NAT, "DR", grade="P3"), 384 - 312 - 48, 384, Fr(24, 384) * 100, 13, 12)
    # ETR (primary -> lower secondary) = NE(S1, 2025) / (E(P3, 2024) - R(P3, 2025))
    #   = 4 schools x 3 x 13 / (384 - 48) = 156 / 336
    check(one(r, NAT, "ETR"), 156, 336, Fr(156, 336) * 100, 13, 12)
    # Cohort without a cap: SR(g) = product of PR(i) / (1 - RR(i)) for i < g:
    #   SR(P2) = 0.75 / (1 - 1/12) = 9/11; SR(P3) = 9/11 x 0.75 / 0.85 = 135/187
    sr2 = Fr(3, 4) / (1 - Fr(1, 12))
    sr3 = sr2 * Fr(3, 4) / (1 - Fr(3, 20))
    assert one(r, NAT, "SR", grade="P2")["value"] == pytest.approx(float(sr2 * 100), rel=1e-6)
    assert one(r, NAT, "SR_LAST")["value"] == pytest.approx(float(sr3 * 100), rel=1e-6)
    # Graduates per entrant = SR(P3) x PR(P3) / (1 - RR(P3)) = 135/187 x (13/16) / (7/8)
    grads = sr3 * Fr(13, 16) / (1 - Fr(1, 8))
    # Pupil-years per entrant: each grade reached is attended 1 / (1 - RR) years on average
    years = 1 / (1 - Fr(1, 12)) + sr2 / (1 - Fr(3, 20)) + sr3 / (1 - Fr(1, 8))
    ce = one(r, NAT, "CE")
    assert ce["value"] == pytest.approx(float(grads * 3 / years * 100), rel=1e-5)
    assert ce["numerator"] == pytest.approx(float(grads * 3 * 1000), rel=1e-5)
    assert one(r, NAT, "YIG")["value"] == pytest.approx(float(years / grads), rel=1e-5)
    assert "method" in ce and ce["details"]["cap"] is None
    # Sub-national flow rows carry the UIS caveat on transfers; D001 counts its 3 matched
    # schools of the 4 open ones.
    d1 = one(r, D1, "PR", grade="P1")
    check(d1, 6 * 18, 6 * 24, 75, 4, 3)
    assert "transfer" in d1["caveat"] or "boundary" in d1["caveat"]
    # Lower secondary: no graduates reported for S2, so its last promotion and the cohort are
    # null, said so, never 0.
    assert one(r, NAT, "PR", "lower_secondary", grade="S2")["value"] is None
    assert one(r, NAT, "SR_LAST", "lower_secondary")["value"] is None


def test_cohort_cap(api: Any) -> None:
    free = one(rows(api, year=T, level="0", indicator="SR_LAST"), NAT, "SR_LAST")
    capped = one(rows(api, year=T, level="0", indicator="SR_LAST", cap=0), NAT, "SR_LAST")
    # cap 0: a pupil who would repeat drops out: survival = product of PR = 0.75 x 0.75
    assert capped["value"] == pytest.approx(56.25, rel=1e-6)
    assert capped["details"]["cap"] == 0
    assert free["value"] > capped["value"]


def test_status_filter_and_one_year_after(api: Any) -> None:
    from app.core.uow import unit_of_work
    from app.registry.service import schools_by_code
    from app.returns.service import ReturnStatus, change_status, return_states_of_schools

    _c, _h, db = api
    # 2025 counts HC-NEW: D001 has 4 reporting schools with k sum 1+2+3+1 = 7; base primary
    # pupils in 2025: F 12+10+9 = 31, M 12+11+8 = 31, total 62: GER = 7 x 62 / 720
    r = rows(api, year=T1, level="2", unit="DM-R01", indicator="GER")
    check(one(r, D1, "GER"), 7 * 62, 720, Fr(7 * 62, 720) * 100, 4, 4)
    with unit_of_work(db) as uow:
        school_id = schools_by_code(uow.session, ["HC-13"])["HC-13"][0]
        (state,) = [s for s in return_states_of_schools(uow.session, [school_id]) if s.year == T1]
        change_status(uow.session, state.id, ReturnStatus.INVALID, by=None, at=uow.now)
    # An invalid return is not counted by default: k sum 4, 3 schools.
    r = rows(api, year=T1, level="2", unit="DM-R01", indicator="GER")
    check(one(r, D1, "GER"), 4 * 62, 720, Fr(4 * 62, 720) * 100, 4, 3)
    # ... and alone when asked for.
    r = rows(api, year=T1, level="2", unit="DM-R01", indicator="GER", status="invalid")
    check(one(r, D1, "GER"), 3 * 62, 720, Fr(3 * 62, 720) * 100, 4, 1)
    # Flows count a pair under the lower status of its two years: without HC-13 now.
    r = rows(api, year=T, level="2", unit="DM-R01", indicator="PR")
    check(one(r, D1, "PR", grade="P1"), 3 * 18, 3 * 24, 75, 4, 2)
