"""A hand-made small country for indicator tests: 2 regions, 4 districts, 12 schools (plus one
that opens in the second year), two school years, population; every figure is worked out by
hand in test_hand_country.py.

Every school is a copy of one base school scaled by its factor k (1, 2 or 3 in each district),
so each unit's sums are (sum of its k) x the base school's, and the rates equal the base's."""

import uuid
from datetime import UTC, date, datetime
from typing import Any

from app.auth.service import create_user
from app.core.principal import Principal
from app.core.uow import Database, unit_of_work
from app.forms.checking import parse_definition
from app.forms.service import FormCache, store_definition
from app.indicators import keep  # noqa: F401  # the keeper of the totals
from app.registry import service as registry
from app.sync.push import push

T, T1 = 2024, 2025
FORM = "mini_census"
PASSWORD = "hand-made-country-1"

FORM_DEFINITION: dict[str, Any] = {
    "code": FORM,
    "version": 1,
    "title": {"en": "Mini census", "fr": "Mini recensement"},
    "categories": {
        "grade": {"label": "Grade", "options": ["P1", "P2", "P3", "S1", "S2"]},
        "sex": {"label": "Sex", "options": ["F", "M"]},
        "age": {"label": "Age", "options": [str(a) for a in range(5, 13)]},
        "level": {"label": "Level", "options": ["primary", "lower_secondary"]},
        "qualified": {"label": "Qualified", "options": ["yes", "no"]},
        "trained": {"label": "Trained", "options": ["yes", "no"]},
        "condition": {"label": "Condition", "options": ["good", "needs_repair", "unusable"]},
    },
    "elements": [
        {
            "code": "enrolment",
            "label": "Pupils",
            "type": "count",
            "dimensions": ["grade", "sex", "age"],
        },
        {
            "code": "repeaters",
            "label": "Repeaters",
            "type": "count",
            "dimensions": ["grade", "sex"],
        },
        {
            "code": "new_entrants",
            "label": "New entrants to P1",
            "type": "count",
            "dimensions": ["age", "sex"],
        },
        {
            "code": "teachers",
            "label": "Teachers",
            "type": "count",
            "dimensions": ["level", "sex", "qualified", "trained"],
        },
        {
            "code": "graduates",
            "label": "Graduates",
            "type": "count",
            "dimensions": ["level", "sex"],
        },
        {"code": "classrooms", "label": "Classrooms", "type": "count", "dimensions": ["condition"]},
        {"code": "has_electricity", "label": "Electricity", "type": "boolean"},
    ],
}
LEVELS = [
    {"code": "primary", "name": "Primary", "sequence": 1, "entrance_age": 6, "duration": 3, "grades": ["P1", "P2", "P3"]},
    {"code": "lower_secondary", "name": "Lower secondary", "sequence": 2, "entrance_age": 9, "duration": 2, "grades": ["S1", "S2"]},
]  # fmt: skip

# The base school (k = 1). Enrolment as {(grade, sex): {age: pupils}}.
ENROLMENT = {
    T: {
        ("P1", "F"): {6: 10, 7: 2},  # 12
        ("P1", "M"): {6: 8, 7: 4},  # 12
        ("P2", "F"): {7: 9, 8: 1},  # 10
        ("P2", "M"): {7: 8, 9: 2},  # 10 (2 over-age)
        ("P3", "F"): {8: 8},  # 8
        ("P3", "M"): {8: 6, 10: 2},  # 8 (2 over-age)
    },
    T1: {
        ("P1", "F"): {6: 11, 7: 1},  # 12
        ("P1", "M"): {6: 9, 7: 3},  # 12
        ("P2", "F"): {7: 9, 8: 1},  # 10
        ("P2", "M"): {7: 9, 8: 2},  # 11
        ("P3", "F"): {8: 8, 9: 1},  # 9
        ("P3", "M"): {8: 6, 9: 2},  # 8
    },
}
SECONDARY = {  # only in schools with k = 3, both years alike; no repeaters
    ("S1", "F"): {8: 1, 9: 5, 10: 1},  # 7 (one under-age: 8 is a primary official age)
    ("S1", "M"): {9: 4, 10: 2},  # 6
    ("S2", "F"): {10: 4},  # 4
    ("S2", "M"): {10: 4, 11: 1},  # 5
}
REPEATERS = {
    T: {("P1", "F"): 1, ("P1", "M"): 2, ("P2", "F"): 1, ("P2", "M"): 1, ("P3", "F"): 0, ("P3", "M"): 1},
    T1: {("P1", "F"): 1, ("P1", "M"): 1, ("P2", "F"): 1, ("P2", "M"): 2, ("P3", "F"): 1, ("P3", "M"): 1},
}  # fmt: skip
NEW_ENTRANTS = {  # P1 minus P1 repeaters, by age
    T: {(6, "F"): 9, (7, "F"): 2, (6, "M"): 6, (7, "M"): 4},
    T1: {(6, "F"): 10, (7, "F"): 1, (6, "M"): 8, (7, "M"): 3},
}
GRADUATES = {T: {"F": 7, "M": 6}, T1: {"F": 7, "M": 6}}  # the end of the year before
TEACHERS = {("F", "yes", "yes"): 1, ("M", "yes", "no"): 1, ("F", "no", "yes"): 1}
CLASSROOMS = {"good": 1, "needs_repair": 1, "unusable": 1}
# Population of each district but DM-R02-D004 (which has none), each age 6..11.
POP = {"F": 110, "M": 130}

DISTRICTS = ["DM-R01-D001", "DM-R01-D002", "DM-R02-D003", "DM-R02-D004"]


def schools() -> list[dict[str, Any]]:
    out = []
    for d, district in enumerate(DISTRICTS):
        for k in (1, 2, 3):
            out.append(
                {
                    "code": f"HC-{d + 1}{k}",
                    "name": f"School {d + 1}-{k}",
                    "unit": district,
                    "ownership": "public" if k < 3 else "private",
                    "locality": "rural" if k == 1 else "urban",
                    "levels": ["primary", "lower_secondary"] if k == 3 else ["primary"],
                    "status": "open",
                    "attributes": {"k": k},
                }
            )
    # Opens in the second year: in T1's one-year figures, never in a flow.
    out.append(
        {
            "code": "HC-NEW", "name": "New school", "unit": "DM-R01-D001", "ownership": "public",
            "locality": "rural", "levels": ["primary"], "status": "open", "attributes": {"k": 1},
        }
    )  # fmt: skip
    return out


def values(year: int, k: int, secondary: bool) -> dict[str, Any]:
    enrolment = [
        {"grade": g, "sex": s, "age": str(a), "value": n * k}
        for (g, s), ages in ENROLMENT[year].items()
        for a, n in ages.items()
    ]
    if secondary:
        enrolment += [
            {"grade": g, "sex": s, "age": str(a), "value": n * k}
            for (g, s), ages in SECONDARY.items()
            for a, n in ages.items()
        ]
    return {
        "enrolment": enrolment,
        "repeaters": [{"grade": g, "sex": s, "value": n * k} for (g, s), n in REPEATERS[year].items()],
        "new_entrants": [{"age": str(a), "sex": s, "value": n * k} for (a, s), n in NEW_ENTRANTS[year].items()],
        "teachers": [
            {"level": "primary", "sex": s, "qualified": q, "trained": t, "value": n * k}
            for (s, q, t), n in TEACHERS.items()
        ],
        "graduates": [{"level": "primary", "sex": s, "value": n * k} for s, n in GRADUATES[year].items()],
        "classrooms": [{"condition": c, "value": n * k} for c, n in CLASSROOMS.items()],
        "has_electricity": k % 2 == 1,
    }  # fmt: skip


def build(db: Database) -> None:
    """Registry, structure, years, population, the form, an admin and every return."""
    with unit_of_work(db) as uow:
        s = uow.session
        registry.upsert_units(
            s,
            [
                {"code": "DM", "name": "Handland", "level_name": "country", "parent": None},
                {"code": "DM-R01", "name": "North", "level_name": "region", "parent": "DM"},
                {"code": "DM-R02", "name": "South", "level_name": "region", "parent": "DM"},
                *[
                    {"code": d, "name": d[-4:], "level_name": "district", "parent": d[:6]}
                    for d in DISTRICTS
                ],
            ],
        )
        registry.upsert_levels(s, LEVELS)
        registry.upsert_schools(s, schools())
        registry.upsert_years(
            s,
            [
                {
                    "year": y,
                    "label": f"{y}/{(y + 1) % 100:02d}",
                    "reference_date": date(y, 11, 15),
                    "window_opens": datetime(y, 9, 1, tzinfo=UTC),
                    "window_closes": datetime(y + 1, 8, 31, tzinfo=UTC),
                    "reopened_until": None,
                }
                for y in (T, T1)
            ],
        )
        registry.upsert_population(
            s,
            [
                {"unit": d, "year": y, "age": a, "sex": sex, "value": n}
                for d in DISTRICTS[:3]
                for y in (T, T1)
                for a in range(6, 12)
                for sex, n in POP.items()
            ],
        )
        store_definition(s, parse_definition(FORM_DEFINITION))
        create_user(s, "admin", PASSWORD, "admin", "DM")
    admin = admin_principal(db)
    items = []
    for sc in schools():
        k = sc["attributes"]["k"]
        for year in (T, T1):
            if sc["code"] == "HC-NEW" and year == T:
                continue
            items.append(
                {
                    "id": str(uuid.uuid4()),
                    "form": FORM,
                    "form_version": 1,
                    "year": year,
                    "school": sc["code"],
                    "base_revision": 0,
                    "values": values(year, k, "lower_secondary" in sc["levels"]),
                }
            )
    with unit_of_work(db, actor=admin) as uow:
        results = push(uow, admin, "hand", items, FormCache(), enforce_window=False)
    assert [r.status for r in results] == ["applied"] * len(items), [r.errors for r in results]


def admin_principal(db: Database) -> Principal:
    from sqlalchemy import select

    from app.auth.models import User
    from app.registry.models import AdminUnit

    with db.reader() as s:
        user, unit = s.execute(
            select(User, AdminUnit).join(AdminUnit, AdminUnit.id == User.admin_unit_id)  # type: ignore[arg-type]
        ).one()
    return Principal(user.id, user.username, user.role, unit.id, unit.code, unit.path, 0)  # type: ignore[arg-type]
