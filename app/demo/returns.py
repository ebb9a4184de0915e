"""Plausible census returns for the standard form, for demo data, tests and benchmarks."""

import multiprocessing
import os
import random
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any

from app.demo.flows import GRADES_BY_LEVEL, SEXES, Pupils, first_year, flow_rates, next_year

SUBJECTS = ("language", "mathematics", "science")
AgeCode = Callable[[int], str | int]
PTR_RANGE = (25.0, 45.0)  # pupils per teacher of a level, version 2


def standard_age_code(age: int) -> str | int:
    """The standard form's age option for a single age (buckets at both ends)."""
    if age < 4:
        return "lt4"
    if age >= 25:
        return "25plus"
    return age


def school_values(
    rng: random.Random,
    levels: Sequence[str],
    age_code: AgeCode,
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One school's filled standard form: a full age grid per grade (zeros included, as a clerk
    fills a paper grid), repeaters, new entrants, teachers, classrooms and facilities, all
    consistent with the form's error rules."""
    size = rng.uniform(0.5, 1.6)
    enrolment: list[dict[str, Any]] = []
    repeaters, disabled, textbooks, new_entrants, totals_cells = [], [], [], [], []
    totals = {"F": 0, "M": 0}
    prev_by_grade = _grade_totals(previous)
    for level in levels:
        entrance, grades = GRADES_BY_LEVEL[level]
        for g, grade in enumerate(grades):
            official = entrance + g
            grade_total = 0
            for sex in ("F", "M"):
                base = prev_by_grade.get(grade)
                if base is not None:
                    n = max(0, round(base / 2 * rng.uniform(0.9, 1.1)))
                else:
                    n = max(0, round(rng.gauss(32, 6) * size * (0.97**g)))
                spread = {
                    official - 1: 0.08,
                    official: 0.6,
                    official + 1: 0.2,
                    official + 2: 0.08,
                    official + 3: 0.04,
                }
                cells: dict[str | int, int] = {}
                for age in range(official - 2, official + 6):
                    cells[age_code(age)] = cells.get(age_code(age), 0)
                left = n
                for age, share in spread.items():
                    k = min(left, round(n * share))
                    cells[age_code(age)] += k
                    left -= k
                cells[age_code(official)] += left
                enrolment += [
                    {"grade": grade, "sex": sex, "age": a, "value": v} for a, v in cells.items()
                ]
                totals_cells.append({"grade": grade, "sex": sex, "value": n})
                grade_total += n
                totals[sex] += n
                rep = min(n, round(n * rng.uniform(0.02, 0.12)))
                repeaters.append({"grade": grade, "sex": sex, "value": rep})
                disabled.append({"grade": grade, "sex": sex, "value": min(n, rng.randint(0, 2))})
                if grade == "P1":
                    first = n - rep
                    ne_share = {official: 0.75, official + 1: 0.2, official + 2: 0.05}
                    ne_cells: dict[str | int, int] = {}
                    left = first
                    for age, s in ne_share.items():
                        k = min(left, round(first * s))
                        ne_cells[age_code(age)] = ne_cells.get(age_code(age), 0) + k
                        left -= k
                    ne_cells[age_code(official)] += left
                    new_entrants += [
                        {"age": a, "sex": sex, "value": v} for a, v in ne_cells.items()
                    ]
            for subject in SUBJECTS:
                pupils = grade_total
                textbooks.append(
                    {
                        "grade": grade,
                        "subject": subject,
                        "value": round(pupils * rng.uniform(0.3, 1.0)),
                    }
                )
    pupils = totals["F"] + totals["M"]
    teachers_needed = max(1, round(pupils / rng.uniform(28, 45)))
    women = round(teachers_needed * rng.uniform(0.3, 0.7))
    teachers = {"F": women, "M": teachers_needed - women}
    qualified = {s: round(n * rng.uniform(0.5, 1.0)) for s, n in teachers.items()}
    trained = {s: round(n * rng.uniform(0.4, 1.0)) for s, n in teachers.items()}
    values: dict[str, Any] = {
        "enrolment": enrolment,
        "enrolment_total": totals_cells,
        "repeaters": repeaters,
        "new_entrants": new_entrants,
        "disabled_pupils": disabled,
        "teachers": [{"sex": s, "value": n} for s, n in teachers.items()],
        "teachers_qualified": [{"sex": s, "value": n} for s, n in qualified.items()],
        "teachers_trained": [{"sex": s, "value": n} for s, n in trained.items()],
        "textbooks": textbooks,
    }
    values.update(_buildings_and_facilities(rng, pupils))
    return values


def _buildings_and_facilities(rng: random.Random, pupils: int) -> dict[str, Any]:
    """Classrooms, seats, toilets, facilities and the improvement plan, for a school's pupils."""
    rooms = max(1, round(pupils / rng.uniform(35, 50)))
    good = max(1, round(rooms * rng.uniform(0.5, 0.9)))
    repair = rng.randint(0, max(0, rooms - good))
    toilets = {s: rng.randint(1, 6) for s in ("F", "M")}
    plan = rng.random() < 0.7
    values: dict[str, Any] = {
        "classrooms": [
            {"condition": "good", "value": good},
            {"condition": "needs_repair", "value": repair},
            {"condition": "unusable", "value": max(0, rooms - good - repair)},
        ],
        "seats": round(pupils * rng.uniform(0.8, 1.1)),
        "toilets": [{"sex": s, "value": n} for s, n in toilets.items()],
        "toilets_usable": [
            {"sex": s, "value": rng.randint(max(0, n - 1), n)} for s, n in toilets.items()
        ],
        "has_drinking_water": rng.random() < 0.7,
        "has_electricity": (power := rng.random() < 0.6),
        "has_internet": power and rng.random() < 0.4,
        "has_handwashing": rng.random() < 0.55,
        "improvement_plan": plan,
    }
    if plan:
        values["improvement_plan_reviewed"] = (
            date(2025, 1, 1) + timedelta(days=rng.randint(0, 600))
        ).isoformat()
    return values


def _grade_totals(values: dict[str, Any] | None) -> dict[str, int]:
    if not values:
        return {}
    out: dict[str, int] = {}
    for c in values.get("enrolment", []):
        out[c["grade"]] = out.get(c["grade"], 0) + c["value"]
    return out


def census_values(rng: random.Random, pupils: Pupils, age_code: AgeCode) -> dict[str, Any]:
    """One school's filled standard form, version 2, for these pupils: a full age grid per grade
    (zeros included, as a clerk fills a paper grid) adding up to the grade's total, repeaters,
    new entrants to P1 (its pupils not repeating it), graduates, teachers by level taught at a
    pupil–teacher ratio within PTR_RANGE, classrooms and facilities; all consistent with the
    form's error rules."""
    enrolment: list[dict[str, Any]] = []
    totals, repeaters, disabled, textbooks, new_entrants = [], [], [], [], []
    by_level: dict[str, int] = {}
    for level, official, grade in pupils.grades():
        grade_total = 0
        for sex in SEXES:
            ages = pupils.ages(grade, sex)
            n = sum(ages.values())
            cells = _age_grid(ages, range(official - 2, official + 6), age_code)
            enrolment += [{"grade": grade, "sex": sex, "age": a, "value": v} for a, v in cells]
            totals.append({"grade": grade, "sex": sex, "value": n})
            repeaters.append({"grade": grade, "sex": sex, "value": pupils.repeaters(grade, sex)})
            disabled.append({"grade": grade, "sex": sex, "value": min(n, rng.randint(0, 2))})
            if grade == "P1":
                fresh = _age_grid(pupils.fresh[grade, sex], range(official, official + 3), age_code)
                new_entrants += [{"age": a, "sex": sex, "value": v} for a, v in fresh]
            grade_total += n
        by_level[level] = by_level.get(level, 0) + grade_total
        for subject in SUBJECTS:
            textbooks.append(
                {
                    "grade": grade,
                    "subject": subject,
                    "value": round(grade_total * rng.uniform(0.3, 1.0)),
                }
            )
    teachers = [cell for level, n in by_level.items() for cell in _teachers(rng, level, n)]
    values: dict[str, Any] = {
        "enrolment": enrolment,
        "enrolment_total": totals,
        "repeaters": repeaters,
        "new_entrants": new_entrants,
        "disabled_pupils": disabled,
        "teachers": teachers,
        "graduates": [
            {"level": level, "sex": sex, "value": n} for (level, sex), n in pupils.graduates.items()
        ],
        "textbooks": textbooks,
    }
    values.update(_buildings_and_facilities(rng, sum(by_level.values())))
    return values


def _age_grid(ages: dict[int, int], grid: range, age_code: AgeCode) -> list[tuple[str | int, int]]:
    """(age option, pupils) over the grid's ages and any others present, buckets summed."""
    out: dict[str | int, int] = {}
    for age in sorted(set(grid) | set(ages)):
        code = age_code(age)
        out[code] = out.get(code, 0) + ages.get(age, 0)
    return list(out.items())


def _teachers(rng: random.Random, level: str, pupils: int) -> list[dict[str, Any]]:
    """A level's teachers by sex × qualified × trained (every cell, zeros included)."""
    n = max(1, round(pupils / rng.uniform(*PTR_RANGE)))
    women = round(n * rng.uniform(0.3, 0.7))
    cells = []
    for sex, k in (("F", women), ("M", n - women)):
        qualified = round(k * rng.uniform(0.5, 1.0))
        trained = round(k * rng.uniform(0.4, 1.0))
        # Both, as if independent, but never fewer than the overlap the totals force.
        both = max(qualified + trained - k, round(qualified * trained / k) if k else 0)
        split = {
            ("yes", "yes"): both,
            ("yes", "no"): qualified - both,
            ("no", "yes"): trained - both,
            ("no", "no"): k - qualified - trained + both,
        }
        cells += [
            {"level": level, "sex": sex, "qualified": q, "trained": t, "value": v}
            for (q, t), v in split.items()
        ]
    return cells


def cell_count(values: dict[str, Any]) -> int:
    """How many cells a return holds (list items plus plain values)."""
    return sum(len(v) if isinstance(v, list) else 1 for v in values.values())


# A school to fill: (code, levels offered) or (code, levels, district code); flow rates vary by
# district (a school without one gets the rates of district "").
SchoolRef = tuple[str, list[str]] | tuple[str, list[str], str]


def batch_items(
    year: int, schools: Sequence[SchoolRef], seed: int, form_version: int = 2
) -> list[dict[str, Any]]:
    """Push items for one batch of schools for one year (deterministic for the seed): the
    standard form's version 2 (a first year of flows), or version 1."""
    if form_version == 1:
        rng = random.Random(seed)
        return [
            _item(rng, 1, year, s[0], school_values(rng, s[1], standard_age_code)) for s in schools
        ]
    return flow_batch_items((year,), schools, seed, seed)[0]


def flow_batch_items(
    years: Sequence[int], schools: Sequence[SchoolRef], seed: int, rates_seed: int
) -> list[list[dict[str, Any]]]:
    """Version 2 push items for consecutive years, one list a year: the first year generated,
    each next one following from it through the district's flow rates (`flow_rates` of
    `rates_seed`, the demo's seed, and the district). Deterministic for the seeds."""
    rng = random.Random(seed)
    out: list[list[dict[str, Any]]] = [[] for _ in years]
    for school in schools:
        code, levels = school[0], school[1]
        rates = flow_rates(rates_seed, school[2] if len(school) > 2 else "")
        pupils = first_year(rng, levels, rates)
        for i, year in enumerate(years):
            if i:
                pupils = next_year(rng, pupils, rates)
            values = census_values(rng, pupils, standard_age_code)
            out[i].append(_item(rng, 2, year, code, values))
    return out


def _item(
    rng: random.Random, form_version: int, year: int, school: str, values: dict[str, Any]
) -> dict[str, Any]:
    import uuid

    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "form": "annual_school_census",
        "form_version": form_version,
        "year": year,
        "school": school,
        "base_revision": 0,
        "values": values,
    }


def fill_returns(
    db: Any,
    years: Sequence[int],
    schools: Sequence[SchoolRef],
    seed: int,
    step: Callable[[str, int, int], None] | None = None,
    batch: int = 200,
    workers: int | None = None,
) -> int:
    """Push a version 2 return for every school and each of these consecutive years (the
    later ones following from the first through pupil flows) through the sync service, as an
    administrator's bulk load (the census window of a past year is not enforced); one
    transaction per batch and year. Batches are generated, checked and stored by worker
    processes, each with its own connections: the checks run side by side and only the writes
    take turns (SQLite has one writer). A batch pushes its earlier year first, so the later
    year's plausibility checks see it."""
    from concurrent.futures import ProcessPoolExecutor

    url = db.engine.url.render_as_string(hide_password=False)
    if ":memory:" in url or url.rstrip("/").endswith("sqlite:"):
        raise ValueError("demo returns need a database that other processes can open")
    workers = workers or min(2, os.cpu_count() or 1)
    years = tuple(years)
    chunks = [schools[i : i + batch] for i in range(0, len(schools), batch)]
    applied = done = 0
    label = "Returns for " + " and ".join(str(y) for y in years)
    # Spawned, not forked: a forked worker would inherit this process's open database
    # connections (SQLite forbids carrying one across fork); each worker opens its own.
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_worker_start,
        initargs=(url,),
    ) as pool:
        for n, ok in pool.map(
            _fill_batch,
            [years] * len(chunks),
            chunks,
            [seed * 1_000_003 + n for n in range(len(chunks))],
            [seed] * len(chunks),
        ):
            applied += ok
            done += n
            if step:
                step(label, done, len(schools))
    return applied


_worker: dict[str, Any] = {}


def _worker_start(url: str) -> None:
    """Per-process state of a demo worker: its own engine, the administrator, the form cache."""
    from sqlalchemy import select
    from sqlmodel import col

    from app.auth.models import User
    from app.core.db import make_engine
    from app.core.principal import Principal
    from app.core.uow import Database
    from app.forms.service import FormCache
    from app.indicators import keep  # noqa: F401  # the totals follow every push
    from app.registry.models import AdminUnit

    db = Database(make_engine(url, pool_size=2))
    with db.reader() as session:
        admin, unit = session.execute(
            select(User, AdminUnit)
            .join(AdminUnit, col(AdminUnit.id) == User.admin_unit_id)
            .where(col(User.role) == "admin", col(AdminUnit.level) == 0)
            .limit(1)
        ).one()
    principal = Principal(admin.id, admin.username, admin.role, unit.id, unit.code, unit.path, 0)  # type: ignore[arg-type]
    _worker.update(db=db, principal=principal, forms=FormCache())


def _fill_batch(
    years: Sequence[int], schools: Sequence[SchoolRef], seed: int, rates_seed: int
) -> tuple[int, int]:
    """Generate one batch for every year and push it through the push use case, a year at a
    time in year order, as an administrator's bulk load (the census window of a past year is
    not enforced). Returns (schools, items applied)."""
    from app.core.uow import unit_of_work
    from app.sync.push import push

    applied = 0
    for items in flow_batch_items(years, schools, seed, rates_seed):
        with unit_of_work(_worker["db"], actor=_worker["principal"]) as uow:
            results = push(
                uow,
                _worker["principal"],
                "demo-generator",
                items,
                _worker["forms"],
                enforce_window=False,
            )
        applied += sum(r.status in ("applied", "duplicate") for r in results)
    return len(schools), applied
