"""The demo's two years follow from each other through pupil flows (INDICATORS.md): per district,
grade and sex, E(g+1,t+1) − R(g+1,t+1) ≤ E(g,t); the implied promotion and repetition rates are
the district's configured ones (within rounding) and lie in the configured ranges; graduates in
t+1 are the last grade's promoted pupils."""

from collections import defaultdict
from collections.abc import Iterator
from itertools import pairwise
from typing import Any

import pytest
from sqlalchemy import select

from app.core.db import make_engine, make_sessionmaker
from app.demo.flows import GRADES_BY_LEVEL, PROMOTION_RANGE, REPETITION_RANGE, flow_rates
from app.demo.generator import DemoSpec, build_demo
from app.forms.checking import STANDARD_FORM_PATHS, compile_form, load_definition_file
from app.registry.models import AdminUnit, School
from app.returns.models import CensusReturn, ReturnRevision

SEED = 5


@pytest.fixture(scope="module")
def flows(db_factory: Any) -> Iterator[dict[str, Any]]:
    """A 60-school demo with returns: values by (school, year), districts, levels, years."""
    url = db_factory.copy(db_factory.template("empty"))
    engine = make_engine(url)
    result = build_demo(make_sessionmaker(engine), DemoSpec(schools=60, seed=SEED))
    with make_sessionmaker(engine)() as s:
        schools = {
            code: (district, levels)
            for code, district, levels in s.execute(
                select(School.code, AdminUnit.code, School.levels).join(
                    AdminUnit, AdminUnit.id == School.admin_unit_id
                )
            )
        }
        rows = s.execute(
            select(School.code, CensusReturn.year, CensusReturn.status, ReturnRevision.values)
            .join(CensusReturn, CensusReturn.id == ReturnRevision.return_id)
            .join(School, School.id == CensusReturn.school_id)
        ).all()
    engine.dispose()
    yield {
        "years": result.years,
        "schools": schools,
        "status": {(c, y): st for c, y, st, _ in rows},
        "values": {(c, y): v for c, y, _, v in rows},
    }
    db_factory.drop(url)


def _by(cells: list[dict[str, Any]], *dims: str) -> dict[tuple[str, ...], int]:
    out: dict[tuple[str, ...], int] = defaultdict(int)
    for c in cells:
        out[tuple(str(c[d]) for d in dims)] += c["value"]
    return out


def test_both_years_are_clean_v2_returns(flows):
    t, t1 = flows["years"]
    assert set(flows["status"]) == {(c, y) for c in flows["schools"] for y in (t, t1)}
    assert set(flows["status"].values()) == {"submitted"}
    form = compile_form(load_definition_file(STANDARD_FORM_PATHS[1]))
    for (code, year), values in flows["values"].items():
        previous = flows["values"].get((code, year - 1))
        assert form.check(values, previous).errors == [], (code, year)


def test_flow_identity_and_rates_per_district(flows):
    t, t1 = flows["years"]
    # district → (grade, sex) → [E(g,t), R(g,t+1), E(g,t+1), schools]
    agg: dict[str, dict[tuple[str, str], list[int]]] = defaultdict(
        lambda: defaultdict(lambda: [0, 0, 0, 0])
    )
    for code, (district, _levels) in flows["schools"].items():
        before, after = flows["values"][code, t], flows["values"][code, t1]
        e_t = _by(before["enrolment"], "grade", "sex")
        e_t1, r_t1 = (
            _by(after["enrolment"], "grade", "sex"),
            _by(after["repeaters"], "grade", "sex"),
        )
        for key, n in e_t.items():
            a = agg[district][key]
            a[0] += n
            a[1] += r_t1[key]
            a[2] += e_t1[key]
            a[3] += 1
    checked = 0
    for district, cells in agg.items():
        rates = flow_rates(SEED, district)
        for _level, (_entrance, grades) in GRADES_BY_LEVEL.items():
            for sex in ("F", "M"):
                for g, g_next in pairwise(grades):
                    if (g, sex) not in cells:
                        continue
                    e_g, _, _, k = cells[g, sex]
                    _, r_next, e_next, _ = cells[g_next, sex]
                    non_repeaters = e_next - r_next
                    assert non_repeaters <= e_g, (district, g, sex)
                    # Each school rounds its own cells: half a pupil per school either way.
                    tolerance = k / e_g
                    pr = non_repeaters / e_g
                    assert abs(pr - rates.promotion[g]) <= tolerance / 2, (district, g, sex)
                    assert PROMOTION_RANGE[0] - tolerance <= pr <= PROMOTION_RANGE[1] + tolerance
                    checked += 1
                for g in grades:
                    if (g, sex) not in cells:
                        continue
                    e_g, r_g, _, k = cells[g, sex]
                    rr = r_g / e_g
                    # Rounding, and repetition at most what promotion leaves: one pupil a school.
                    assert abs(rr - rates.repetition[g]) <= k / e_g, (district, g, sex)
                    assert REPETITION_RANGE[0] - k / e_g <= rr <= REPETITION_RANGE[1] + k / e_g
                    assert rates.dropout(g) >= 0
    assert checked > 20 and len(agg) > 1


def test_rates_vary_by_district_and_stay_in_range():
    rates = [flow_rates(SEED, f"DM-R01-D{d:03d}") for d in range(1, 9)]
    assert len({r.promotion["P1"] for r in rates}) == len(rates)
    for r in rates:
        for g in r.promotion:
            assert PROMOTION_RANGE[0] <= r.promotion[g] <= PROMOTION_RANGE[1]
            assert REPETITION_RANGE[0] <= r.repetition[g] <= REPETITION_RANGE[1]
            assert r.promotion[g] + r.repetition[g] <= 1
    assert flow_rates(SEED, "DM-R01-D001") == flow_rates(SEED, "DM-R01-D001")


def test_graduates_are_the_last_grades_promoted_pupils(flows):
    t, t1 = flows["years"]
    for code, (district, levels) in flows["schools"].items():
        rates = flow_rates(SEED, district)
        before, after = flows["values"][code, t], flows["values"][code, t1]
        e_t = _by(before["enrolment"], "grade", "sex")
        grads_t = _by(before["graduates"], "level", "sex")
        grads_t1 = _by(after["graduates"], "level", "sex")
        assert {lv for lv, _ in grads_t1} == set(levels)
        for level in levels:
            last = GRADES_BY_LEVEL[level][1][-1]
            for sex in ("F", "M"):
                promoted = round(rates.promotion[last] * e_t[last, sex])
                assert grads_t1[level, sex] == promoted, (code, level, sex)
                # The first year's graduates: 80–95 % of its own last grade (rounded).
                assert 0.8 * e_t[last, sex] - 0.5 <= grads_t[level, sex]
                assert grads_t[level, sex] <= 0.95 * e_t[last, sex] + 0.5


def test_ages_add_up_and_p1_new_entrants_are_its_non_repeaters(flows):
    t, t1 = flows["years"]
    for code, (_district, levels) in flows["schools"].items():
        for year in (t, t1):
            v = flows["values"][code, year]
            assert _by(v["enrolment"], "grade", "sex") == _by(v["enrolment_total"], "grade", "sex")
            if "primary" in levels:
                p1 = _by([c for c in v["enrolment"] if c["grade"] == "P1"], "sex")
                rep = _by([c for c in v["repeaters"] if c["grade"] == "P1"], "sex")
                ne = _by(v["new_entrants"], "sex")
                assert {s: p1[s] - rep[s] for s in p1} == dict(ne)
            # Most pupils of a grade are of its official age or a year older.
            for level in levels:
                entrance, grades = GRADES_BY_LEVEL[level]
                for i, grade in enumerate(grades):
                    ages = _by([c for c in v["enrolment"] if c["grade"] == grade], "age")
                    total = sum(ages.values())
                    near = ages[(str(entrance + i),)] + ages[(str(entrance + i + 1),)]
                    assert total < 10 or near >= 0.6 * total, (code, year, grade)


def test_teachers_by_level_give_a_plausible_ptr(flows):
    t, t1 = flows["years"]
    for code, (_district, levels) in flows["schools"].items():
        for year in (t, t1):
            v = flows["values"][code, year]
            teachers = _by(v["teachers"], "level")
            assert {lv for (lv,) in teachers} == set(levels)
            for level in levels:
                grades = set(GRADES_BY_LEVEL[level][1])
                pupils = sum(c["value"] for c in v["enrolment"] if c["grade"] in grades)
                n = teachers[(level,)]
                assert n >= 1
                if pupils >= 100:  # small levels still get their one teacher
                    assert 25 / 1.2 <= pupils / n <= 45 * 1.2, (code, year, level)
