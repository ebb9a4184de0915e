"""Registry use cases: admin tree, schools, school years, education structure, population.

Bulk functions take plain dicts so the HTTP API, the CSV importer and the demo generator share
one code path; they flush, never commit."""

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import col

from app.core.audit import note_audit
from app.core.changelog import Change, note_changes
from app.core.db import all_rows, database_of, rows_by_ids, table_of
from app.core.derived import bump_reference_version, mark
from app.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.core.paging import decode_cursor, encode_cursor
from app.core.principal import Principal
from app.core.types import utcnow
from app.registry.models import AdminUnit, EducationLevel, Population, School, SchoolYear
from app.registry.schemas import (
    AdminUnitPublic,
    EducationLevelPublic,
    SchoolPublic,
    SchoolYearPublic,
)

Progress = Callable[[int], None]


@dataclass
class UpsertCounts:
    """What a bulk upsert did."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    changes: list[Change] = field(default_factory=list)

    def __add__(self, other: "UpsertCounts") -> "UpsertCounts":
        return UpsertCounts(
            self.created + other.created,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
            self.changes + other.changes,
        )


def subtree_filter(path_column: Any, path: str) -> Any:
    """Rows whose path lies under `path` (itself included), as an index-friendly range."""
    # Paths are /1/7/42/: every descendant starts with the prefix; '0' follows '/' in byte order.
    return (path_column >= path) & (path_column < path[:-1] + "0")


# ---------------------------------------------------------------- admin units


def unit_by_code(session: Session, code: str) -> AdminUnit | None:
    return session.scalar(select(AdminUnit).where(col(AdminUnit.code) == code))


# The levels a school may name before a country loads its own education structure.
STANDARD_LEVELS = ("pre_primary", "primary", "lower_secondary", "upper_secondary")


def known_level_codes(session: Session) -> set[str]:
    """Codes a school's `levels` may name: the education levels, or the standard ones while
    none are loaded."""
    return set(session.scalars(select(col(EducationLevel.code)))) or set(STANDARD_LEVELS)


def require_levels(session: Session, levels: Sequence[str], path: str = "body.levels") -> None:
    """A 422 naming every level that is not a known education level."""
    known = known_level_codes(session)
    bad = [
        {"code": "UNKNOWN_LEVEL", "path": f"{path}[{n}]", "message": f"unknown level {code!r}"}
        for n, code in enumerate(levels)
        if code not in known
    ]
    if bad:
        raise InvalidInput(
            f"Unknown education level(s): {', '.join(e['message'][15:-1] for e in bad[:5])}; "
            f"known: {', '.join(sorted(known))}.",
            bad,
        )


def require_unit(session: Session, code: str, path: str = "body.unit") -> AdminUnit:
    """The unit with this code, or a 422 naming the field."""
    unit = unit_by_code(session, code)
    if unit is None:
        raise InvalidInput(
            f"No admin unit has the code {code!r}.",
            [{"code": "UNKNOWN_UNIT", "path": path, "message": f"unknown admin unit {code!r}"}],
        )
    return unit


def _codes_for_paths(session: Session, paths: Iterable[str]) -> dict[int, str]:
    ids = {int(p) for path in paths for p in path.strip("/").split("/") if p}
    if not ids:
        return {}
    rows = session.execute(
        select(col(AdminUnit.id), col(AdminUnit.code)).where(col(AdminUnit.id).in_(ids))
    )
    return {i: c for i, c in rows}  # type: ignore[misc]  # primary keys are never NULL


def _unit_public(unit: AdminUnit, codes: dict[int, str]) -> AdminUnitPublic:
    chain = [codes[int(p)] for p in unit.path.strip("/").split("/") if p]
    return AdminUnitPublic(
        code=unit.code,
        name=unit.name,
        level=unit.level,
        level_name=unit.level_name,
        parent=chain[-2] if len(chain) > 1 else None,
        path=chain,
    )


def units_public(session: Session, units: Sequence[AdminUnit]) -> list[AdminUnitPublic]:
    codes = _codes_for_paths(session, (u.path for u in units))
    return [_unit_public(u, codes) for u in units]


def get_unit(session: Session, code: str) -> AdminUnitPublic:
    unit = unit_by_code(session, code)
    if unit is None:
        raise NotFound(f"No admin unit has the code {code!r}.")
    return units_public(session, [unit])[0]


def list_units(
    session: Session, under: str | None, level: int | None, cursor: str | None, limit: int
) -> tuple[list[AdminUnitPublic], str | None]:
    """Units in path order (a parent before its children), optionally below one unit."""
    q = select(AdminUnit)
    if under:
        root = unit_by_code(session, under)
        if root is None:
            raise NotFound(f"No admin unit has the code {under!r}.")
        q = q.where(subtree_filter(AdminUnit.path, root.path))
    if level is not None:
        q = q.where(col(AdminUnit.level) == level)
    if cursor:
        after = decode_cursor(cursor, {"p": str})["p"]
        q = q.where(col(AdminUnit.path) > after)
    rows = list(session.scalars(q.order_by(col(AdminUnit.path)).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = encode_cursor({"p": rows[-1].path}) if more else None
    return units_public(session, rows), nxt


def upsert_units(
    session: Session, rows: Sequence[dict[str, Any]], record: bool = True
) -> UpsertCounts:
    """Create or update units given as {code, name, level_name, parent}; parents may come in any
    order in `rows` or already exist. A unit moved to another parent carries its subtree along."""
    existing = {u.code: u for u in session.scalars(select(AdminUnit))}
    by_code = {r["code"]: r for r in rows}
    counts = UpsertCounts()
    done: set[str] = set()
    pending = list(by_code.values())
    while pending:
        ready = [
            r
            for r in pending
            if not r.get("parent")
            or r["parent"] in done
            or (r["parent"] in existing and r["parent"] not in by_code)
        ]
        if not ready:
            bad = pending[0]
            raise InvalidInput(
                f"Admin unit {bad['code']!r} has an unknown parent {bad.get('parent')!r} or "
                "sits in a cycle.",
                [{"code": "UNKNOWN_PARENT", "path": "parent", "message": str(bad.get("parent"))}],
            )
        new_rows: list[dict[str, Any]] = []
        for r in ready:
            parent = existing[r["parent"]] if r.get("parent") else None
            if parent is None and r.get("parent"):
                raise InvalidInput(f"Unknown parent {r['parent']!r}.")
            level = parent.level + 1 if parent else 0
            unit = existing.get(r["code"])
            if unit is None:
                new_rows.append(
                    {
                        "code": r["code"],
                        "name": r["name"],
                        "level": level,
                        "level_name": r["level_name"],
                        "parent_id": parent.id if parent else None,
                        "path": "/",
                    }
                )
                continue
            parent_id = parent.id if parent else None
            changed = [
                f
                for f, old, new in (
                    ("name", unit.name, r["name"]),
                    ("level_name", unit.level_name, r["level_name"]),
                    ("parent", unit.parent_id, parent_id),
                )
                if old != new
            ]
            if not changed:
                counts.unchanged += 1
                continue
            note_audit(session, "admin_unit.update", unit.code, fields=changed)
            if unit.parent_id != parent_id:
                if parent is not None and parent.path.startswith(unit.path):
                    raise InvalidInput(f"Moving {unit.code!r} under {parent.code!r} makes a cycle.")
                counts.changes.extend(_move_subtree(session, unit, parent))
            unit.name, unit.level_name = r["name"], r["level_name"]
            counts.updated += 1
            counts.changes.append(Change("admin_unit", unit.code, "upsert", unit.path))
        if new_rows:
            ids = (
                session.execute(
                    insert(AdminUnit).returning(col(AdminUnit.id), sort_by_parameter_order=True),
                    new_rows,
                )
                .scalars()
                .all()
            )
            paths = []
            for row, new_id in zip(new_rows, ids, strict=True):
                parent_path = (
                    existing[by_code[row["code"]]["parent"]].path if row["parent_id"] else "/"
                )
                row["id"], row["path"] = new_id, f"{parent_path}{new_id}/"
                paths.append({"b_id": new_id, "b_path": row["path"]})
            units_table = table_of(AdminUnit)
            session.connection().execute(
                update(units_table)
                .where(units_table.c.id == _bind("b_id"))
                .values(path=_bind("b_path")),
                paths,
            )
            for row in new_rows:
                existing[row["code"]] = AdminUnit(**row)
                counts.created += 1
                note_audit(session, "admin_unit.create", row["code"], id=row["id"])
                counts.changes.append(Change("admin_unit", row["code"], "upsert", row["path"]))
        done.update(r["code"] for r in ready)
        pending = [r for r in pending if r["code"] not in done]
    session.flush()  # renamed units are written before the session forgets its objects
    session.expire_all()
    if counts.created or counts.updated:
        bump_reference_version(session)  # cached figures name units: a renamed unit is new
    if record:
        note_changes(session, counts.changes)
    return counts


def _bind(name: str) -> Any:
    from sqlalchemy import bindparam

    return bindparam(name)


def _move_subtree(session: Session, unit: AdminUnit, parent: AdminUnit | None) -> list[Change]:
    """Move a unit and everything below it under `parent`. Returns what devices must learn:
    every unit and school of the subtree leaves its old area (delete there) and arrives in the
    new one (upsert there; a school brings its returns), and the new ancestors are announced to
    the moved area."""
    old = unit.path
    new = f"{parent.path if parent else '/'}{unit.id}/"
    delta = (parent.level + 1 if parent else 0) - unit.level
    units = list(
        session.execute(
            select(col(AdminUnit.code), col(AdminUnit.path)).where(
                subtree_filter(AdminUnit.path, old)
            )
        )
    )
    schools = list(
        session.execute(
            select(col(School.code), col(AdminUnit.path))
            .join(AdminUnit, col(AdminUnit.id) == School.admin_unit_id)
            .where(subtree_filter(AdminUnit.path, old))
        )
    )
    session.execute(
        update(AdminUnit)
        .where(subtree_filter(AdminUnit.path, old))
        .values(path=new + func.substr(AdminUnit.path, len(old) + 1), level=AdminUnit.level + delta)
    )
    unit.parent_id = parent.id if parent else None
    unit.path, unit.level = new, unit.level + delta

    def moved(path: str) -> str:
        return new + path[len(old) :]

    changes = [Change("admin_unit", c, "delete", p) for c, p in units]
    changes += [Change("school", c, "delete", p, with_dependents=True) for c, p in schools]
    changes += [Change("admin_unit", c, "upsert", moved(p)) for c, p in units]
    changes += [Change("school", c, "upsert", moved(p), with_dependents=True) for c, p in schools]
    if parent is not None:
        ancestors = [int(i) for i in parent.path.strip("/").split("/") if i]
        for code, path in session.execute(
            select(col(AdminUnit.code), col(AdminUnit.path)).where(col(AdminUnit.id).in_(ancestors))
        ):
            changes.append(Change("admin_unit", code, "upsert", path))
    return changes


# ---------------------------------------------------------------- schools

_SCHOOL_FIELDS = (
    "name",
    "admin_unit_id",
    "ownership",
    "locality",
    "levels",
    "status",
    "attributes",
)


def upsert_schools(
    session: Session,
    rows: Sequence[dict[str, Any]],
    progress: Progress | None = None,
    record: bool = True,
) -> UpsertCounts:
    """Create or update schools given as {code, name, unit, ownership, locality, levels, status,
    attributes}; units must exist. Unchanged rows write nothing."""
    units = {
        c: (i, p)
        for c, i, p in session.execute(
            select(col(AdminUnit.code), col(AdminUnit.id), col(AdminUnit.path))
        )
    }
    path_of_unit = {i: p for i, p in units.values()}
    existing = {
        row[0]: row[1:]
        for row in session.execute(
            select(col(School.code), col(School.id), *[getattr(School, f) for f in _SCHOOL_FIELDS])
        )
    }
    counts = UpsertCounts()
    inserts, updates = [], []
    for n, r in enumerate(rows, 1):
        if r["unit"] not in units:
            raise InvalidInput(
                f"School {r['code']!r} names an unknown admin unit {r['unit']!r}.",
                [{"code": "UNKNOWN_UNIT", "path": "unit", "message": r["unit"]}],
            )
        unit_id, unit_path = units[r["unit"]]
        values = {
            "name": r["name"],
            "admin_unit_id": unit_id,
            "ownership": str(r["ownership"]),
            "locality": str(r["locality"]) if r.get("locality") else None,
            "levels": list(r.get("levels") or []),
            "status": str(r.get("status") or "open"),
            "attributes": dict(r.get("attributes") or {}),
        }
        old = existing.get(r["code"])
        if old is None:
            inserts.append({"code": r["code"], **values})
            counts.created += 1
            note_audit(session, "school.create", r["code"], unit=r["unit"])
        elif tuple(old[1:]) != tuple(values[f] for f in _SCHOOL_FIELDS):
            updates.append({"b_id": old[0], **values})
            counts.updated += 1
            changed = [
                f for f, was in zip(_SCHOOL_FIELDS, old[1:], strict=True) if was != values[f]
            ]
            note_audit(session, "school.update", r["code"], id=old[0], fields=changed)
            if old[2] != unit_id:
                # Moved to another unit: it leaves the old area (with its returns) and arrives
                # in the new one, with them.
                old_path = path_of_unit.get(old[2], "/")
                counts.changes.append(
                    Change("school", r["code"], "delete", old_path, with_dependents=True)
                )
                counts.changes.append(
                    Change("school", r["code"], "upsert", unit_path, with_dependents=True)
                )
                continue
        else:
            counts.unchanged += 1
            continue
        counts.changes.append(Change("school", r["code"], "upsert", unit_path))
        if progress and n % 1000 == 0:
            progress(1000)
    if inserts:
        for i in range(0, len(inserts), 5000):
            session.execute(insert(School), inserts[i : i + 5000])
    if updates:
        # Derived figures follow a school's unit, ownership, locality and levels.
        mark(session, "school", [u["b_id"] for u in updates])
        t = table_of(School)
        session.connection().execute(
            update(t).where(t.c.id == _bind("b_id")).values({f: _bind(f) for f in _SCHOOL_FIELDS}),
            [{"b_id": u["b_id"], **{f: u[f] for f in _SCHOOL_FIELDS}} for u in updates],
        )
    if progress:
        progress(len(rows) % 1000)
    session.expire_all()
    if record:
        note_changes(session, counts.changes)
    return counts


def _school_public(school: School, unit_code: str) -> SchoolPublic:
    return SchoolPublic(
        code=school.code,
        name=school.name,
        unit=unit_code,
        ownership=school.ownership,
        locality=school.locality,
        levels=school.levels,
        status=school.status,
        attributes=school.attributes,
    )


def school_with_unit(session: Session, code: str) -> tuple[School, AdminUnit] | None:
    row = session.execute(
        select(School, AdminUnit)
        .join(AdminUnit, col(AdminUnit.id) == School.admin_unit_id)
        .where(col(School.code) == code)
    ).first()
    return (row[0], row[1]) if row else None


def school_in_area(session: Session, user: Principal, code: str) -> tuple[School, AdminUnit]:
    """A school and its unit; 404 if unknown, 403 if outside the caller's area."""
    found = school_with_unit(session, code)
    if found is None:
        raise NotFound(f"No school has the code {code!r}.")
    if not user.covers(found[1].path):
        raise Forbidden(f"School {code!r} lies outside your area ({user.unit_code}).")
    return found


def area_path(session: Session, user: Principal, unit: str | None) -> str:
    """The path to filter by: the caller's area, or a unit inside it (404 unknown, 403 outside)."""
    if not unit:
        return user.unit_path
    u = unit_by_code(session, unit)
    if u is None:
        raise NotFound(f"No admin unit has the code {unit!r}.")
    if not user.covers(u.path):
        raise Forbidden(f"Unit {unit!r} lies outside your area ({user.unit_code}).")
    return u.path


def open_schools_under(session: Session, path: str) -> list[tuple[int, str, str]]:
    """(id, code, unit path) of every open school in the unit with this path and below."""
    return [
        (i, str(c), str(p))
        for i, c, p in session.execute(
            select(col(School.id), col(School.code), col(AdminUnit.path))
            .join(AdminUnit, col(AdminUnit.id) == School.admin_unit_id)
            .where(subtree_filter(col(AdminUnit.path), path), col(School.status) == "open")
            .order_by(col(School.code))
        )
        if i is not None
    ]


@dataclass(frozen=True)
class SchoolListing:
    """A school as a list of schools shows it."""

    id: int
    code: str
    name: str
    unit_code: str
    unit_name: str
    ownership: str
    locality: str
    levels: tuple[str, ...]
    status: str


def schools_under(session: Session, path: str) -> list[SchoolListing]:
    """Every school (open or not) in the unit with this path and below, by code."""
    return [
        SchoolListing(i, c, n, uc, un, o, loc or "", tuple(lv or ()), st)  # type: ignore[arg-type]
        for i, c, n, uc, un, o, loc, lv, st in session.execute(
            select(
                col(School.id),
                col(School.code),
                col(School.name),
                col(AdminUnit.code),
                col(AdminUnit.name),
                col(School.ownership),
                col(School.locality),
                col(School.levels),
                col(School.status),
            )
            .join(AdminUnit, col(AdminUnit.id) == School.admin_unit_id)
            .where(subtree_filter(col(AdminUnit.path), path))
            .order_by(col(School.code))
        )
    ]


def school_levels_in_use(session: Session) -> list[int]:
    """The admin levels of the units that hold schools, deepest first."""
    return sorted(
        {
            int(lv or 0)
            for (lv,) in session.execute(
                select(col(AdminUnit.level))
                .join(School, col(School.admin_unit_id) == AdminUnit.id)
                .distinct()
            )
        },
        reverse=True,
    )


def get_school(session: Session, user: Principal, code: str) -> SchoolPublic:
    """One school; 404 if unknown, 403 if outside the caller's area."""
    school, unit = school_in_area(session, user, code)
    return _school_public(school, unit.code)


def list_schools(
    session: Session,
    user: Principal,
    unit: str | None,
    status: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[SchoolPublic], str | None]:
    """Schools within the caller's area (and below `unit` if given), ordered by code."""
    area = area_path(session, user, unit)
    q = (
        select(School, col(AdminUnit.code))
        .join(AdminUnit, col(AdminUnit.id) == School.admin_unit_id)
        .where(subtree_filter(AdminUnit.path, area))
    )
    if status:
        q = q.where(col(School.status) == status)
    if cursor:
        q = q.where(col(School.code) > decode_cursor(cursor, {"c": str})["c"])
    rows = session.execute(q.order_by(col(School.code)).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = encode_cursor({"c": rows[-1][0].code}) if more else None
    return [_school_public(s, c) for s, c in rows], nxt


def delete_school(session: Session, code: str) -> None:
    """Remove a school that has no returns (close it instead when it has). The returns' foreign
    key refuses the delete when there are some, so the registry need not read their table."""
    found = school_with_unit(session, code)
    if found is None:
        raise NotFound(f"No school has the code {code!r}.")
    school, unit = found
    try:
        with session.begin_nested():
            session.execute(delete(School).where(col(School.id) == school.id))
    except IntegrityError as exc:
        raise Conflict(f"School {code!r} has returns; set its status to closed instead.") from exc
    session.expunge(school)
    note_changes(session, [Change("school", code, "delete", unit.path)])
    note_audit(session, "school.delete", code, id=school.id)


# ---------------------------------------------------------------- school years, structure


def year_public(y: SchoolYear) -> SchoolYearPublic:
    return SchoolYearPublic(
        year=y.year,
        label=y.label,
        reference_date=y.reference_date,
        window_opens=y.window_opens,
        window_closes=y.window_closes,
        reopened_until=y.reopened_until,
        is_open=y.is_open(utcnow()),
    )


def list_years(session: Session) -> list[SchoolYearPublic]:
    return [
        year_public(y) for y in session.scalars(select(SchoolYear).order_by(col(SchoolYear.year)))
    ]


def get_year(session: Session, year: int) -> SchoolYearPublic:
    y = session.get(SchoolYear, year)
    if y is None:
        raise NotFound(f"No school year {year}.")
    return year_public(y)


def upsert_years(session: Session, rows: Sequence[dict[str, Any]]) -> UpsertCounts:
    """Create or update school years given as {year, label, reference_date, window_*}."""
    counts = UpsertCounts()
    keys = ("label", "reference_date", "window_opens", "window_closes", "reopened_until")
    for r in rows:
        y = session.get(SchoolYear, r["year"])
        if y is None:
            given: dict[str, Any] = {k: r.get(k) for k in keys}
            session.add(SchoolYear(year=r["year"], **given))
            counts.created += 1
            note_audit(session, "school_year.create", str(r["year"]))
        elif changed := [k for k in keys if getattr(y, k) != r.get(k)]:
            for k in keys:
                setattr(y, k, r.get(k))
            counts.updated += 1
            note_audit(session, "school_year.update", str(r["year"]), fields=changed)
        else:
            counts.unchanged += 1
            continue
        counts.changes.append(Change("school_year", str(r["year"])))
    session.flush()
    forget_years()
    if (uow := session.info.get("uow")) is not None:
        uow.after_commit(forget_years)  # again once durable: a reader in between saw the old
    note_changes(session, counts.changes)
    return counts


def list_levels(session: Session) -> list[EducationLevelPublic]:
    return [
        EducationLevelPublic(
            code=lv.code,
            name=lv.name,
            sequence=lv.sequence,
            entrance_age=lv.entrance_age,
            duration=lv.duration,
            grades=lv.grades,
        )
        for lv in session.scalars(select(EducationLevel).order_by(col(EducationLevel.sequence)))
    ]


def upsert_levels(session: Session, rows: Sequence[dict[str, Any]]) -> UpsertCounts:
    """Create or update levels of the education structure."""
    counts = UpsertCounts()
    keys = ("name", "sequence", "entrance_age", "duration", "grades")
    for r in rows:
        lv = session.get(EducationLevel, r["code"])
        if lv is None:
            session.add(EducationLevel(code=r["code"], **{k: r[k] for k in keys}))
            counts.created += 1
            note_audit(session, "education_level.create", str(r["code"]))
        elif changed := [k for k in keys if getattr(lv, k) != r[k]]:
            for k in keys:
                setattr(lv, k, r[k])
            counts.updated += 1
            note_audit(session, "education_level.update", str(r["code"]), fields=changed)
        else:
            counts.unchanged += 1
    session.flush()
    if counts.created or counts.updated:
        bump_reference_version(session)
        mark(session, "structure", [0])  # derived figures depend on entrance ages and grades
    return counts


# ---------------------------------------------------------------- population


def upsert_population(session: Session, rows: Sequence[dict[str, Any]]) -> UpsertCounts:
    """Set population figures given as {unit, year, age, sex, value} (unit = code)."""
    units: dict[str, int] = {
        c: i  # type: ignore[misc]  # primary keys are never NULL
        for c, i in session.execute(select(col(AdminUnit.code), col(AdminUnit.id)))
    }
    missing = sorted({r["unit"] for r in rows if r["unit"] not in units})
    if missing:
        raise InvalidInput(
            f"Unknown admin unit(s): {', '.join(missing[:10])}.",
            [{"code": "UNKNOWN_UNIT", "path": "unit", "message": m} for m in missing[:50]],
        )
    keyed = {
        (units[r["unit"]], int(r["year"]), int(r["age"]), r["sex"]): int(r["value"]) for r in rows
    }
    unit_ids = {k[0] for k in keyed}
    years = {k[1] for k in keyed}
    existing = {
        (p.admin_unit_id, p.year, p.age, p.sex): p.value
        for p in session.scalars(
            select(Population).where(
                col(Population.admin_unit_id).in_(unit_ids), col(Population.year).in_(years)
            )
        )
    }
    counts = UpsertCounts()
    inserts, updates = [], []
    for (uid, year, age, sex), value in keyed.items():
        old = existing.get((uid, year, age, sex))
        if old is None:
            inserts.append(
                {"admin_unit_id": uid, "year": year, "age": age, "sex": sex, "value": value}
            )
            counts.created += 1
        elif old != value:
            updates.append({"b_u": uid, "b_y": year, "b_a": age, "b_s": sex, "b_v": value})
            counts.updated += 1
        else:
            counts.unchanged += 1
    if inserts or updates:
        bump_reference_version(session)
        code_of = {i: c for c, i in units.items()}
        touched: dict[tuple[int, int], list[int]] = {}
        for row in inserts:
            touched.setdefault((row["admin_unit_id"], row["year"]), [0, 0])[0] += 1
        for row in updates:
            touched.setdefault((row["b_u"], row["b_y"]), [0, 0])[1] += 1
        for (uid, year), (created, updated) in sorted(touched.items()):
            note_audit(
                session,
                "population.set",
                f"{code_of[uid]}/{year}",
                created=created,
                updated=updated,
            )
    for i in range(0, len(inserts), 5000):
        session.execute(insert(Population), inserts[i : i + 5000])
    if updates:
        t = table_of(Population)
        session.connection().execute(
            update(t)
            .where(
                (t.c.admin_unit_id == _bind("b_u"))
                & (t.c.year == _bind("b_y"))
                & (t.c.age == _bind("b_a"))
                & (t.c.sex == _bind("b_s"))
            )
            .values(value=_bind("b_v")),
            updates,
        )
    return counts


def population_for(session: Session, unit_code: str, year: int) -> list[dict[str, Any]]:
    """Population of a unit and everything below it, by single age and sex."""
    unit = unit_by_code(session, unit_code)
    if unit is None:
        raise NotFound(f"No admin unit has the code {unit_code!r}.")
    rows = session.execute(
        select(col(Population.age), col(Population.sex), func.sum(Population.value))
        .join(AdminUnit, col(AdminUnit.id) == Population.admin_unit_id)
        .where(subtree_filter(AdminUnit.path, unit.path), col(Population.year) == year)
        .group_by(col(Population.age), col(Population.sex))
        .order_by(col(Population.age), col(Population.sex))
    ).all()
    return [{"age": a, "sex": s, "value": int(v)} for a, s, v in rows]


# ---------------------------------------------------------------- lookups for other features


def schools_by_code(session: Session, codes: Iterable[str]) -> dict[str, tuple[int, str]]:
    """(school id, unit path) of each known school among `codes` (one indexed IN list)."""
    wanted = list(set(codes))
    if not wanted:
        return {}
    return {
        c: (sid, path)  # type: ignore[misc]  # primary keys are never NULL
        for c, sid, path in session.execute(
            select(col(School.code), col(School.id), col(AdminUnit.path))
            .join(AdminUnit, col(AdminUnit.id) == School.admin_unit_id)
            .where(col(School.code).in_(wanted))
        )
    }


# School years change a few times a year and every push reads them: each process keeps them for
# YEARS_TTL seconds (a change made in this process clears it at once; another worker's change is
# seen within that time, as if the push had been checked a moment earlier).
YEARS_TTL = 1.0
_years_cache: dict[str, tuple[float, dict[int, SchoolYear]]] = {}  # database -> (read at, years)


def years_by_number(session: Session) -> dict[int, SchoolYear]:
    """Every school year, by its number (copies that belong to no session)."""
    now = time.monotonic()
    database = database_of(session)
    hit = _years_cache.get(database)
    if hit is not None and now - hit[0] < YEARS_TTL:
        return dict(hit[1])
    years = {
        y.year: SchoolYear(**{k: getattr(y, k) for k in _YEAR_FIELDS})
        for y in session.scalars(select(SchoolYear))
    }
    _years_cache[database] = (now, years)
    return dict(years)


def forget_years() -> None:
    """Drop the cached school years (after a change to them)."""
    _years_cache.clear()


_YEAR_FIELDS = (
    "year",
    "label",
    "reference_date",
    "window_opens",
    "window_closes",
    "reopened_until",
)


# ---------------------------------------------------------------- what derived figures need


@dataclass(frozen=True)
class SchoolPlacement:
    """Where a school's figures are counted: its unit and the attributes figures split by."""

    id: int
    unit_id: int
    ownership: str
    locality: str
    levels: tuple[str, ...]
    open: bool


def school_placements(session: Session, school_ids: Iterable[int]) -> dict[int, SchoolPlacement]:
    ids = sorted(set(school_ids))
    out: dict[int, SchoolPlacement] = {}
    for i in range(0, len(ids), 1000):
        for sid, uid, own, loc, levels, status in rows_by_ids(
            session, table_of(School), _PLACEMENT_COLUMNS, "id", ids[i : i + 1000]
        ):
            out[sid] = SchoolPlacement(
                sid, uid, own, loc or "", tuple(levels or ()), status == "open"
            )
    return out


_PLACEMENT_COLUMNS = ("id", "admin_unit_id", "ownership", "locality", "levels", "status")


def all_school_placements(session: Session) -> list[SchoolPlacement]:
    """Every school (coverage counts the open ones offering a level)."""
    return [
        SchoolPlacement(sid, uid, own, loc or "", tuple(levels or ()), status == "open")  # type: ignore[arg-type]
        for sid, uid, own, loc, levels, status in session.execute(
            select(
                col(School.id),
                col(School.admin_unit_id),
                col(School.ownership),
                col(School.locality),
                col(School.levels),
                col(School.status),
            )
        )
    ]


@dataclass(frozen=True)
class UnitRow:
    id: int
    code: str
    name: str
    level: int
    path: str


def all_units(session: Session) -> list[UnitRow]:
    return [
        UnitRow(*row)  # type: ignore[arg-type]
        for row in session.execute(
            select(
                col(AdminUnit.id),
                col(AdminUnit.code),
                col(AdminUnit.name),
                col(AdminUnit.level),
                col(AdminUnit.path),
            ).order_by(col(AdminUnit.path))
        )
    ]


def education_levels(session: Session) -> list[EducationLevel]:
    return list(session.scalars(select(EducationLevel).order_by(col(EducationLevel.sequence))))


def education_structure(session: Session) -> list[tuple[str, int, int, int, list[str]]]:
    """(code, sequence, entrance age, duration, grades) of each level in sequence: what derived
    figures read on every push (twice: before the write transaction and in it), as plain rows
    in one statement of constant text (see core.db.rows_by_ids)."""
    rows = all_rows(session, table_of(EducationLevel), _STRUCTURE_COLUMNS)
    return sorted(
        (
            (code, seq, entrance, duration, list(grades or ()))
            for code, seq, entrance, duration, grades in rows
        ),
        key=itemgetter(1),
    )


_STRUCTURE_COLUMNS = ("code", "sequence", "entrance_age", "duration", "grades")


def population_by_unit(session: Session, year: int) -> dict[tuple[int, int, str], int]:
    """Population rows of a year: (unit id, age, sex) -> value."""
    return {
        (uid, age, sex): value
        for uid, age, sex, value in session.execute(
            select(
                col(Population.admin_unit_id),
                col(Population.age),
                col(Population.sex),
                col(Population.value),
            ).where(col(Population.year) == year)
        )
    }
