"""Plausible census returns for the standard form, for demo data, tests and benchmarks."""

import multiprocessing
import os
import random
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any

from app.demo.levels import LEVELS

GRADES_BY_LEVEL = {lv["code"]: (lv["entrance_age"], lv["grades"]) for lv in LEVELS}
SUBJECTS = ("language", "mathematics", "science")
AgeCode = Callable[[int], str | int]


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
    rooms = max(1, round(pupils / rng.uniform(35, 50)))
    good = max(1, round(rooms * rng.uniform(0.5, 0.9)))
    repair = rng.randint(0, max(0, rooms - good))
    toilets = {s: rng.randint(1, 6) for s in ("F", "M")}
    plan = rng.random() < 0.7
    values: dict[str, Any] = {
        "enrolment": enrolment,
        "enrolment_total": totals_cells,
        "repeaters": repeaters,
        "new_entrants": new_entrants,
        "disabled_pupils": disabled,
        "teachers": [{"sex": s, "value": n} for s, n in teachers.items()],
        "teachers_qualified": [{"sex": s, "value": n} for s, n in qualified.items()],
        "teachers_trained": [{"sex": s, "value": n} for s, n in trained.items()],
        "classrooms": [
            {"condition": "good", "value": good},
            {"condition": "needs_repair", "value": repair},
            {"condition": "unusable", "value": max(0, rooms - good - repair)},
        ],
        "seats": round(pupils * rng.uniform(0.8, 1.1)),
        "textbooks": textbooks,
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


def cell_count(values: dict[str, Any]) -> int:
    """How many cells a return holds (list items plus plain values)."""
    return sum(len(v) if isinstance(v, list) else 1 for v in values.values())


def batch_items(
    year: int, schools: Sequence[tuple[str, list[str]]], seed: int
) -> list[dict[str, Any]]:
    """Push items for one batch of schools (deterministic for the seed)."""
    import uuid

    rng = random.Random(seed)
    return [
        {
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "form": "annual_school_census",
            "form_version": 1,
            "year": year,
            "school": code,
            "base_revision": 0,
            "values": school_values(rng, levels, standard_age_code),
        }
        for code, levels in schools
    ]


def fill_returns(
    db: Any,
    year: int,
    schools: Sequence[tuple[str, list[str]]],
    seed: int,
    step: Callable[[str, int, int], None] | None = None,
    batch: int = 200,
    workers: int | None = None,
) -> int:
    """Push a return for every school through the sync service, as an administrator's bulk load
    (the census window of a past year is not enforced); one transaction per batch. Batches are
    generated, checked and stored by worker processes, each with its own connections: the
    checks run side by side and only the writes take turns (SQLite has one writer)."""
    from concurrent.futures import ProcessPoolExecutor

    url = db.engine.url.render_as_string(hide_password=False)
    if ":memory:" in url or url.rstrip("/").endswith("sqlite:"):
        raise ValueError("demo returns need a database that other processes can open")
    workers = workers or min(2, os.cpu_count() or 1)
    chunks = [schools[i : i + batch] for i in range(0, len(schools), batch)]
    applied = done = 0
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
            [year] * len(chunks),
            chunks,
            [seed * 1_000_003 + n for n in range(len(chunks))],
        ):
            applied += ok
            done += n
            if step:
                step(f"Returns for {year}", done, len(schools))
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


def _fill_batch(year: int, schools: Sequence[tuple[str, list[str]]], seed: int) -> tuple[int, int]:
    """Generate one batch and push it through the push use case, as an administrator's bulk
    load (the census window of a past year is not enforced). Returns (items, applied)."""
    from app.core.uow import unit_of_work
    from app.sync.push import push

    items = batch_items(year, schools, seed)
    with unit_of_work(_worker["db"], actor=_worker["principal"]) as uow:
        results = push(
            uow,
            _worker["principal"],
            "demo-generator",
            items,
            _worker["forms"],
            enforce_window=False,
        )
    return len(items), sum(r.status in ("applied", "duplicate") for r in results)
