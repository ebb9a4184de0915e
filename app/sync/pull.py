"""The pull use case: the change log after a cursor, as the caller may see it now."""

import time
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.core.changelog import ServerMeta, SyncChange, horizon, last_sequence
from app.core.errors import Gone
from app.core.paging import decode_cursor, encode_cursor
from app.core.principal import Principal
from app.forms.models import FormVersion
from app.registry.models import AdminUnit, School, SchoolYear
from app.registry.service import subtree_filter, units_public, year_public
from app.returns.schemas import ReturnPublic
from app.returns.service import return_keys_of_schools, returns_public
from app.sync import metrics
from app.sync.schemas import ChangeOut

GONE = (
    "This cursor cannot be honoured by this server (its data was rebuilt, the change log was "
    "compacted past it, or the cursor is not ours); pull again without a cursor."
)


def _epoch(session: Session) -> str:
    return session.scalar(select(col(ServerMeta.value)).where(col(ServerMeta.key) == "epoch")) or ""


def _ancestor_paths(path: str) -> list[str]:
    parts = [p for p in path.strip("/").split("/") if p]
    return ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts))]


def pull(
    session: Session, user: Principal, cursor: str | None, limit: int, lang: str = "en"
) -> tuple[list[ChangeOut], str, bool]:
    """Changes after the cursor that the caller may see, oldest first. `limit` counts log
    entries; a school that moved brings its returns along, so a page can hold a few more."""
    started = time.perf_counter()
    epoch = _epoch(session)
    after = 0
    if cursor:
        # API.md: a cursor the server cannot honour (its own, or not) is 410; start again.
        data = decode_cursor(cursor, {"e": str, "s": int}, Gone)
        after = data["s"]
        if data["e"] != epoch or after < horizon(session) or after > last_sequence(session):
            raise Gone(GONE)
    visible = or_(
        col(SyncChange.unit_path).is_(None),
        subtree_filter(SyncChange.unit_path, user.unit_path),
        and_(
            col(SyncChange.entity_type) == "admin_unit",
            col(SyncChange.unit_path).in_(_ancestor_paths(user.unit_path)),
        ),
    )
    rows = list(
        session.scalars(
            select(SyncChange)
            .where(col(SyncChange.seq) > after, visible)
            .order_by(col(SyncChange.seq))
            .limit(limit + 1)
        )
    )
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_seq = rows[-1].seq if rows else after
    changes = _materialise(session, user, _latest(rows), lang)
    metrics.observe_pull(time.perf_counter() - started)
    return changes, encode_cursor({"e": epoch, "s": next_seq}), has_more


def _latest(rows: list[SyncChange]) -> list[SyncChange]:
    """Rows of a page less those a later row of the same entity makes useless (every upsert
    is sent with the entity's current data, so only the last one counts)."""
    last: dict[tuple[str, str], SyncChange] = {}
    for r in rows:
        last[(r.entity_type, r.entity_key)] = r
    keep = []
    for r in rows:
        final = last[(r.entity_type, r.entity_key)]
        if final is r or (r.with_dependents and not final.with_dependents):
            keep.append(r)
    return keep


def _sees(user: Principal, path: str | None, entity_type: str) -> bool:
    """May the caller see an entity that lies (now) at `path`?"""
    if path is None:
        return True
    if user.covers(path):
        return True
    return entity_type == "admin_unit" and user.unit_path.startswith(path)


def _materialise(
    session: Session, user: Principal, rows: list[SyncChange], lang: str
) -> list[ChangeOut]:
    """Current data for each changed entity (a few queries per entity type). An upsert of an
    entity that now lies outside the caller's area is sent as a delete: old rows never hand
    data to an area the entity has left."""
    wanted: dict[str, set[str]] = {}
    for r in rows:
        if r.op == "upsert" or r.with_dependents:
            wanted.setdefault(r.entity_type, set()).add(r.entity_key)
    data: dict[tuple[str, str], tuple[dict[str, Any], str | None]] = {}
    school_ids: dict[str, int] = {}
    if "admin_unit" in wanted:
        units = list(
            session.scalars(select(AdminUnit).where(col(AdminUnit.code).in_(wanted["admin_unit"])))
        )
        for unit, public in zip(units, units_public(session, units), strict=True):
            data[("admin_unit", unit.code)] = (public.model_dump(mode="json"), unit.path)
    return_codes = {r.entity_key for r in rows if r.entity_type == "return" and r.op == "upsert"}
    school_codes = set(wanted.get("school", set())) | {k.split("/")[2] for k in return_codes}
    paths: dict[str, str] = {}
    if school_codes:
        for s, ucode, upath in session.execute(
            select(School, col(AdminUnit.code), col(AdminUnit.path))
            .join(AdminUnit, col(AdminUnit.id) == School.admin_unit_id)
            .where(col(School.code).in_(school_codes))
        ):
            school_ids[s.code] = s.id  # type: ignore[assignment]  # loaded rows have ids
            paths[s.code] = upath
            data[("school", s.code)] = (
                {
                    "code": s.code,
                    "name": s.name,
                    "unit": ucode,
                    "ownership": s.ownership,
                    "locality": s.locality,
                    "levels": s.levels,
                    "status": s.status,
                    "attributes": s.attributes,
                },
                upath,
            )
    if "school_year" in wanted:
        for y in session.scalars(
            select(SchoolYear).where(
                col(SchoolYear.year).in_([int(k) for k in wanted["school_year"]])
            )
        ):
            data[("school_year", str(y.year))] = (year_public(y).model_dump(mode="json"), None)
    if "form" in wanted:
        for key in wanted["form"]:
            code, version = key.rsplit("/", 1)
            row = session.get(FormVersion, (code, int(version)))
            if row is not None:
                data[("form", key)] = (row.definition, None)
    # Returns: those changed, and those of schools that moved (they moved along).
    movers = {r.entity_key for r in rows if r.entity_type == "school" and r.with_dependents}
    dependents = return_keys_of_schools(session, [school_ids[c] for c in movers if c in school_ids])
    return_keys: set[tuple[str, int, int]] = set()
    for key in return_codes:
        form, year, code = key.split("/")
        if code in school_ids:
            return_keys.add((form, int(year), school_ids[code]))
    for code in movers:
        if code in school_ids:
            return_keys |= {(f, y, school_ids[code]) for f, y in dependents[school_ids[code]]}
    found: dict[tuple[str, int, int], ReturnPublic] = returns_public(
        session, list(return_keys), lang
    )
    for ret in found.values():
        data[("return", f"{ret.form}/{ret.year}/{ret.school}")] = (
            ret.model_dump(mode="json"),
            paths.get(ret.school),
        )
    out: list[ChangeOut] = []
    for r in rows:
        out.append(_change(user, r.entity_type, r.entity_key, r.op, data))
        if r.entity_type == "school" and r.with_dependents and r.entity_key in school_ids:
            for dep_form, dep_year in dependents.get(school_ids[r.entity_key], []):
                dep_key = f"{dep_form}/{dep_year}/{r.entity_key}"
                out.append(_change(user, "return", dep_key, r.op, data))
    return out


def _change(
    user: Principal,
    entity_type: str,
    key: str,
    op: str,
    data: dict[tuple[str, str], tuple[dict[str, Any], str | None]],
) -> ChangeOut:
    found = data.get((entity_type, key)) if op == "upsert" else None
    if found is None or not _sees(user, found[1], entity_type):
        return ChangeOut.model_validate(
            {"type": entity_type, "op": "delete", "key": key, "data": None}
        )
    return ChangeOut.model_validate(
        {"type": entity_type, "op": "upsert", "key": key, "data": found[0]}
    )
