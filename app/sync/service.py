"""Sync use cases: push (exactly-once apply of census returns) and pull (the change sequence)."""

import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import and_, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import col

from app.auth.service import Principal
from app.core.errors import Gone
from app.core.paging import decode_cursor, encode_cursor
from app.core.types import utcnow
from app.forms.models import FormVersion
from app.forms.service import FormCache
from app.registry.models import AdminUnit, School, SchoolYear
from app.registry.service import subtree_filter, units_public, year_public
from app.returns.models import CensusReturn, ReturnRevision
from app.returns.schemas import ReturnPublic
from app.returns.service import (
    NewRevision,
    apply_revision,
    apply_revisions,
    content_hash,
    localized,
    returns_public,
)
from app.sync import metrics
from app.sync.changes import Change, last_sequence, record_changes
from app.sync.messages import push_message
from app.sync.models import Device, ServerMeta, SyncChange
from app.sync.schemas import ChangeOut, PushItem, PushResult

log = logging.getLogger("emis.sync")


def _finding(code: str, message: str, path: str = "") -> dict[str, Any]:
    """An error finding of the push itself (the check engine makes the others)."""
    return {"code": code, "path": path, "message": message, "severity": "error"}


def _invalid_field(path: str, detail: str, lang: str) -> dict[str, Any]:
    """A field pydantic refused; its own detail stays in English, the frame is translated."""
    return _finding(
        "INVALID_ITEM", push_message("INVALID_ITEM", lang, field=path, detail=detail), path
    )


def _rejected(item_id: str | None, *errors: dict[str, Any]) -> PushResult:
    return PushResult(id=item_id, status="rejected", errors=list(errors))


@dataclass
class _Known:
    """What the batch learned up front (one query each), updated as items apply."""

    schools: dict[str, tuple[int, str]]
    years: dict[int, SchoolYear]
    pushed: dict[str, tuple[str, int, str, list[Any], list[Any]]]
    current: dict[tuple[str, int, int], int]
    previous_values: dict[tuple[str, int, int], dict[str, Any]]


def _prefetch(session: Session, items: Sequence[PushItem]) -> _Known:
    codes = {i.school for i in items}
    schools: dict[str, tuple[int, str]] = {
        c: (sid, path)  # type: ignore[misc]  # primary keys are never NULL
        for c, sid, path in session.execute(
            select(col(School.code), col(School.id), col(AdminUnit.path))
            .join(AdminUnit, col(AdminUnit.id) == School.admin_unit_id)
            .where(col(School.code).in_(codes))
        )
    }
    years = {y.year: y for y in session.scalars(select(SchoolYear))}
    pushed = {
        pid: (h, rev, st, e, w)
        for pid, h, rev, st, e, w in session.execute(
            select(
                col(ReturnRevision.push_id),
                col(ReturnRevision.content_hash),
                col(ReturnRevision.revision),
                col(ReturnRevision.status),
                col(ReturnRevision.errors),
                col(ReturnRevision.warnings),
            ).where(col(ReturnRevision.push_id).in_([i.id for i in items]))
        )
    }
    keys = {(i.form, i.year, schools[i.school][0]) for i in items if i.school in schools}
    current: dict[tuple[str, int, int], int] = {}
    previous: dict[tuple[str, int, int], dict[str, Any]] = {}
    if keys:
        # IN lists on indexed columns, filtered here: one index probe per school, whatever the
        # size of the table (a long OR of ANDs makes some planners scan it).
        school_ids = {k[2] for k in keys}
        wanted_years = {k[1] for k in keys} | {k[1] - 1 for k in keys}
        rows = session.execute(
            select(
                col(CensusReturn.id),
                col(CensusReturn.form_code),
                col(CensusReturn.year),
                col(CensusReturn.school_id),
                col(CensusReturn.revision),
            ).where(
                col(CensusReturn.school_id).in_(school_ids),
                col(CensusReturn.year).in_(wanted_years),
            )
        ).all()
        last_year: dict[int, tuple[str, int, int]] = {}
        for rid, f, y, sid, rev in rows:
            if (f, y, sid) in keys:
                current[(f, y, sid)] = rev
            if (f, y + 1, sid) in keys:
                last_year[rid] = (f, y + 1, sid)  # type: ignore[index]  # a primary key
        if last_year:
            for rid, values in session.execute(
                select(col(ReturnRevision.return_id), col(ReturnRevision.values))
                .join(
                    CensusReturn,
                    and_(
                        col(ReturnRevision.return_id) == CensusReturn.id,
                        col(ReturnRevision.revision) == CensusReturn.revision,
                    ),
                )
                .where(col(CensusReturn.id).in_(last_year))
            ):
                previous[last_year[rid]] = values
    return _Known(schools, years, pushed, current, previous)


def _pushed_again(
    item_id: str, digest: str, known: tuple[str, int, str, list[Any], list[Any]], lang: str
) -> PushResult:
    h, rev, status, errors, warnings = known
    if h == digest:
        return PushResult(
            id=item_id,
            status="duplicate",
            revision=rev,
            return_status=status,
            errors=localized(errors, lang),
            warnings=localized(warnings, lang),
        )
    return PushResult(
        id=item_id,
        status="conflict",
        errors=[
            _finding("ID_REUSED", push_message("ID_REUSED", lang, id=item_id, revision=rev), "id")
        ],
    )


def push_batch(
    session: Session,
    user: Principal,
    device_id: str,
    raw_items: Sequence[Any],
    forms: FormCache,
    lang: str = "en",
    now: datetime | None = None,
    enforce_window: bool = True,
) -> list[PushResult]:
    """Check and store a batch in one session (for tools and tests; the endpoint and the demo
    use prepare_push and apply_push); the caller commits once and only then sends the results.
    Returns one result per item, in order."""
    prepared = prepare_push(session, user, device_id, raw_items, forms, lang, now, enforce_window)
    return apply_push(session, prepared)


@dataclass
class PreparedPush:
    """A batch after its reads and checks, waiting for the write transaction."""

    ctx: "_Context"
    raw_items: Sequence[Any]
    results: list[PushResult | None]
    pending: list[tuple[int, "_Pending"]]
    linked: list[tuple[int, PushItem]]
    started: float


def prepare_push(
    session: Session,
    user: Principal,
    device_id: str,
    raw_items: Sequence[Any],
    forms: FormCache,
    lang: str = "en",
    now: datetime | None = None,
    enforce_window: bool = True,
) -> PreparedPush:
    """Read what the batch needs and check every independent item: no writes, so on SQLite it
    runs outside the write lock and other writers go on meanwhile. A revision or push id
    committed between this and `apply_push` is caught there by the database's unique
    constraints (a retry becomes `duplicate`, a lost race `conflict`); a census window closing,
    a school moving or a token revoked in that gap of milliseconds is not checked again."""
    started = time.perf_counter()
    now = now or utcnow()
    results: list[PushResult | None] = [None] * len(raw_items)
    items: list[tuple[int, PushItem]] = []
    for n, raw in enumerate(raw_items):
        if not isinstance(raw, dict):
            results[n] = _rejected(
                None, _finding("INVALID_ITEM", push_message("NOT_AN_ITEM", lang), "")
            )
            continue
        try:
            items.append((n, PushItem.model_validate(raw)))
        except ValidationError as exc:
            item_id = raw.get("id") if isinstance(raw.get("id"), str) else None
            results[n] = _rejected(
                item_id,
                *[
                    _invalid_field(".".join(str(p) for p in e["loc"]), e["msg"], lang)
                    for e in exc.errors()
                ],
            )
    known = _prefetch(session, [i for _, i in items])
    ctx = _Context(session, user, device_id, known, forms, lang, now, enforce_window, [])
    # Different returns are taken in key order so that two batches never lock the same rows in
    # opposite orders (no deadlocks). Items that share a return or an id with another item of
    # the batch depend on each other and go one by one, in their order, when the batch is
    # applied.
    ordered = sorted(items, key=lambda p: (p[1].form, p[1].year, p[1].school))
    keys = Counter((i.form, i.year, i.school) for _, i in items)
    ids = Counter(i.id for _, i in items)
    alone = [(n, i) for n, i in ordered if keys[(i.form, i.year, i.school)] == 1 and ids[i.id] == 1]
    linked = [(n, i) for n, i in items if keys[(i.form, i.year, i.school)] > 1 or ids[i.id] > 1]
    pending: list[tuple[int, _Pending]] = []
    for n, item in alone:
        prepared = _prepare(ctx, item)
        if isinstance(prepared, PushResult):
            results[n] = prepared
        else:
            pending.append((n, prepared))
    return PreparedPush(ctx, raw_items, results, pending, linked, started)


def apply_push(session: Session, batch: PreparedPush) -> list[PushResult]:
    """Store a prepared batch in `session` (the write transaction); the caller commits."""
    ctx = batch.ctx
    ctx.session = session
    results, raw_items, known = batch.results, batch.raw_items, ctx.known
    pending = batch.pending
    for n, result in zip(
        [n for n, _ in pending], _apply_together(ctx, [p for _, p in pending]), strict=True
    ):
        results[n] = result
    for n, item in batch.linked:
        prepared = _prepare(ctx, item)
        results[n] = prepared if isinstance(prepared, PushResult) else _apply_alone(ctx, prepared)
    conflicted: dict[int, tuple[str, int, int]] = {}
    for n, outcome in enumerate(results):
        item_school = raw_items[n].get("school") if isinstance(raw_items[n], dict) else None
        if (
            outcome is not None
            and outcome.status == "conflict"
            and not outcome.errors
            and item_school in known.schools
        ):
            conflicted[n] = (
                raw_items[n]["form"],
                raw_items[n]["year"],
                known.schools[item_school][0],
            )
    if conflicted:
        current = returns_public(session, list(set(conflicted.values())), ctx.lang)
        for n, key in conflicted.items():
            results[n].current = current.get(key)  # type: ignore[union-attr]
    record_changes(session, ctx.changes)
    _touch_device(session, ctx.device_id, ctx.user.user_id, ctx.now, push=True)
    done = [r for r in results if r is not None]
    elapsed = time.perf_counter() - batch.started
    metrics.observe_push(done, elapsed)
    counts: dict[str, int] = {}
    for r in done:
        counts[r.status] = counts.get(r.status, 0) + 1
    log.info(
        "push",
        extra={
            "device": ctx.device_id,
            "user": ctx.user.username,
            "items": len(done),
            **counts,
            "duration_ms": round(elapsed * 1000, 1),
        },
    )
    return done


@dataclass
class _Context:
    session: Session
    user: Principal
    device_id: str
    known: _Known
    forms: FormCache
    lang: str
    now: datetime
    enforce_window: bool
    changes: list[Change]


@dataclass
class _Pending:
    """An item that passed every check and waits to be stored."""

    item: PushItem
    rev: NewRevision
    key: tuple[str, int, int]
    unit_path: str


def _prepare(ctx: _Context, item: PushItem) -> PushResult | _Pending:
    """Every check an item must pass before it is stored; a final result when it fails one."""
    known, lang = ctx.known, ctx.lang
    digest = content_hash(
        item.form, item.form_version, item.year, item.school, item.base_revision, item.values
    )
    if item.id in known.pushed:
        return _pushed_again(item.id, digest, known.pushed[item.id], lang)
    school = known.schools.get(item.school)
    if school is None:
        return _rejected(
            item.id,
            _finding(
                "UNKNOWN_SCHOOL", push_message("UNKNOWN_SCHOOL", lang, school=item.school), "school"
            ),
        )
    school_id, unit_path = school
    if not ctx.user.covers(unit_path):
        return _rejected(
            item.id,
            _finding(
                "OUTSIDE_AREA",
                push_message("OUTSIDE_AREA", lang, school=item.school, area=ctx.user.unit_code),
                "school",
            ),
        )
    year = known.years.get(item.year)
    if year is None:
        return _rejected(
            item.id,
            _finding("UNKNOWN_YEAR", push_message("UNKNOWN_YEAR", lang, year=item.year), "year"),
        )
    if ctx.enforce_window and not year.is_open(ctx.now):
        return _rejected(
            item.id,
            _finding(
                "WINDOW_CLOSED",
                push_message(
                    "WINDOW_CLOSED", lang, label=year.label, closed=f"{year.window_closes:%Y-%m-%d}"
                ),
                "year",
            ),
        )
    form = ctx.forms.get(ctx.session, item.form, item.form_version)
    if form is None:
        return _rejected(
            item.id,
            _finding(
                "UNKNOWN_FORM",
                push_message("UNKNOWN_FORM", lang, form=item.form, version=item.form_version),
                "form_version",
            ),
        )
    key = (item.form, item.year, school_id)
    if item.base_revision != known.current.get(key, 0):
        return _conflict_unless_pushed(ctx, item.id, digest)
    checked = form.check(item.values, known.previous_values.get(key), ctx.lang)
    if checked.structure_errors:
        return PushResult(
            id=item.id, status="rejected", errors=[f.as_dict() for f in checked.structure_errors]
        )
    errors = [f.as_stored() for f in checked.rule_errors]
    warnings = [f.as_stored() for f in checked.warnings]
    rev = NewRevision(
        form=item.form,
        form_version=item.form_version,
        year=item.year,
        school_id=school_id,
        base_revision=item.base_revision,
        values=item.values,
        status="invalid" if errors else "submitted",
        errors=errors,
        warnings=warnings,
        push_id=item.id,
        content_hash=digest,
        user_id=ctx.user.user_id,
        device_id=ctx.device_id,
        captured_at=item.captured_at,
        now=ctx.now,
    )
    return _Pending(item, rev, key, unit_path)


def _applied(ctx: _Context, p: _Pending, number: int) -> PushResult:
    rev = p.rev
    ctx.known.current[p.key] = number
    ctx.known.pushed[p.item.id] = (rev.content_hash, number, rev.status, rev.errors, rev.warnings)
    ctx.changes.append(
        Change("return", f"{p.item.form}/{p.item.year}/{p.item.school}", "upsert", p.unit_path)
    )
    return PushResult(
        id=p.item.id,
        status="applied",
        revision=number,
        return_status=rev.status,
        errors=rev.errors,
        warnings=rev.warnings,
    )


def _apply_together(ctx: _Context, pending: list[_Pending]) -> list[PushResult]:
    """Store independent items with a few multi-row statements in one savepoint; if a concurrent
    writer makes any of them collide, roll that back and store them one by one instead."""
    if not pending:
        return []
    try:
        with ctx.session.begin_nested():
            numbers = apply_revisions(ctx.session, [p.rev for p in pending])
    except IntegrityError:
        return [_apply_alone(ctx, p) for p in pending]
    return [
        _conflict_unless_pushed(ctx, p.item.id, p.rev.content_hash)
        if number is None
        else _applied(ctx, p, number)
        for p, number in zip(pending, numbers, strict=True)
    ]


def _apply_alone(ctx: _Context, p: _Pending) -> PushResult:
    """Store one item in its own savepoint; a unique violation means someone got in first."""
    try:
        with ctx.session.begin_nested():
            number = apply_revision(ctx.session, p.rev)
    except IntegrityError:
        number = None
    if number is not None:
        return _applied(ctx, p, number)
    return _conflict_unless_pushed(ctx, p.item.id, p.rev.content_hash)


def _conflict_unless_pushed(ctx: _Context, item_id: str, digest: str) -> PushResult:
    """A stale base or a lost race is a conflict, unless this very id was stored meanwhile by a
    concurrent request (a retry): then it is that item's result again. Each statement sees what
    was committed before it, so this read catches what the batch's first reads missed."""
    again = ctx.session.execute(
        select(
            col(ReturnRevision.content_hash),
            col(ReturnRevision.revision),
            col(ReturnRevision.status),
            col(ReturnRevision.errors),
            col(ReturnRevision.warnings),
        ).where(col(ReturnRevision.push_id) == item_id)
    ).first()
    if again is not None:
        return _pushed_again(item_id, digest, tuple(again), ctx.lang)
    return PushResult(id=item_id, status="conflict")


def _touch_device(
    session: Session, device_id: str, user_id: int, now: datetime, push: bool
) -> None:
    column = "last_push_at" if push else "last_pull_at"
    dialect = session.get_bind().dialect.name
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Device)
    session.execute(
        ins.values(device_id=device_id, user_id=user_id, **{column: now}).on_conflict_do_update(
            index_elements=["device_id"], set_={"user_id": user_id, column: now}
        )
    )


# ---------------------------------------------------------------- pull


def _epoch(session: Session) -> str:
    return session.scalar(select(col(ServerMeta.value)).where(col(ServerMeta.key) == "epoch")) or ""


def _ancestor_paths(path: str) -> list[str]:
    parts = [p for p in path.strip("/").split("/") if p]
    return ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts))]


def pull(
    session: Session,
    user: Principal,
    cursor: str | None,
    limit: int,
    lang: str = "en",
) -> tuple[list[ChangeOut], str, bool]:
    """Changes after the cursor that the caller may see, oldest first."""
    started = time.perf_counter()
    epoch = _epoch(session)
    after = 0
    if cursor:
        data = decode_cursor(cursor, Gone)
        after = data.get("s", -1) if isinstance(data.get("s"), int) else -1
        if data.get("e") != epoch or after < 0 or after > last_sequence(session):
            raise Gone(
                "This cursor cannot be honoured by this server (its data was rebuilt or the "
                "cursor is not ours); pull again without a cursor."
            )
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
    changes = _materialise(session, rows, lang)
    next_seq = rows[-1].seq if rows else after
    metrics.observe_pull(time.perf_counter() - started)
    return changes, encode_cursor({"e": epoch, "s": next_seq}), has_more


def _materialise(session: Session, rows: list[SyncChange], lang: str) -> list[ChangeOut]:
    """Current data for each changed entity (one query per entity type)."""
    wanted: dict[str, list[str]] = {}
    for r in rows:
        if r.op == "upsert":
            wanted.setdefault(r.entity_type, []).append(r.entity_key)
    data: dict[tuple[str, str], dict[str, Any]] = {}
    if "admin_unit" in wanted:
        units = list(
            session.scalars(select(AdminUnit).where(col(AdminUnit.code).in_(wanted["admin_unit"])))
        )
        for u in units_public(session, units):
            data[("admin_unit", u.code)] = u.model_dump(mode="json")
    if "school" in wanted:
        for s, ucode in session.execute(
            select(School, col(AdminUnit.code))
            .join(AdminUnit, col(AdminUnit.id) == School.admin_unit_id)
            .where(col(School.code).in_(wanted["school"]))
        ):
            data[("school", s.code)] = {
                "code": s.code,
                "name": s.name,
                "unit": ucode,
                "ownership": s.ownership,
                "locality": s.locality,
                "levels": s.levels,
                "status": s.status,
                "attributes": s.attributes,
            }
    if "school_year" in wanted:
        for y in session.scalars(
            select(SchoolYear).where(
                col(SchoolYear.year).in_([int(k) for k in wanted["school_year"]])
            )
        ):
            data[("school_year", str(y.year))] = year_public(y).model_dump(mode="json")
    if "form" in wanted:
        for key in wanted["form"]:
            code, version = key.rsplit("/", 1)
            row = session.get(FormVersion, (code, int(version)))
            if row is not None:
                data[("form", key)] = row.definition
    if "return" in wanted:
        parsed = [k.split("/") for k in wanted["return"]]
        ids: dict[str, int] = {
            c: i  # type: ignore[misc]  # primary keys are never NULL
            for c, i in session.execute(
                select(col(School.code), col(School.id)).where(
                    col(School.code).in_({p[2] for p in parsed})
                )
            )
        }
        found: dict[tuple[str, int, int], ReturnPublic] = returns_public(
            session, [(f, int(y), ids[s]) for f, y, s in parsed if s in ids], lang
        )
        for ret in found.values():
            data[("return", f"{ret.form}/{ret.year}/{ret.school}")] = ret.model_dump(mode="json")
    out = []
    for r in rows:
        payload = data.get((r.entity_type, r.entity_key)) if r.op == "upsert" else None
        out.append(
            ChangeOut(
                type=r.entity_type,
                op=r.op if payload is not None or r.op == "delete" else "delete",
                key=r.entity_key,
                data=payload,
            )
        )
    return out


def record_pull(factory: Any, device_id: str, user_id: int) -> None:
    """Note that a device pulled (its own small write transaction)."""
    with factory() as session:
        _touch_device(session, device_id, user_id, utcnow(), push=False)
        session.commit()


def oldest_device_sync(session: Session) -> float | None:
    """Seconds since the least recently pushing device last pushed (None: no devices)."""
    oldest = session.scalar(
        select(col(Device.last_push_at))
        .where(col(Device.last_push_at).is_not(None))
        .order_by(col(Device.last_push_at))
        .limit(1)
    )
    return (utcnow() - oldest).total_seconds() if oldest else None
