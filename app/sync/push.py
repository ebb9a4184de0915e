"""The push use case: exactly-once apply of census returns, in two phases and one function.

`push()` is the only entry point (the endpoint and the demo call it). Phase one reads what the
batch needs and checks every item, with no writes: on SQLite it runs outside the single write
lock, so other writers go on meanwhile. Phase two is one write transaction, committed by the
unit of work and run again if PostgreSQL answers with a deadlock or a serialization failure. A
revision or push id committed by someone else between the phases is caught by the database's
unique constraints (a retry becomes `duplicate`, a lost race `conflict`); a census window
closing, a school moving or a token revoked in that gap of milliseconds is not checked again."""

import copy
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core import derived
from app.core.changelog import Change, note_changes
from app.core.db import expect_rollback
from app.core.principal import Principal
from app.core.uow import UnitOfWork
from app.forms.canonical import canonical_from_cells, canonical_values
from app.forms.service import FormCache
from app.registry.models import SchoolYear
from app.registry.service import schools_by_code, years_by_number
from app.returns.service import (
    NewRevision,
    PushedBefore,
    ReturnKey,
    ReturnStatus,
    apply_revision,
    apply_revisions,
    content_hash,
    current_and_previous,
    localized,
    lock_returns,
    pushed_before,
    returns_public,
)
from app.sync import metrics
from app.sync.devices import check_device, needs_touch, touch_device
from app.sync.messages import push_message
from app.sync.schemas import PushItem, PushResult

log = logging.getLogger("emis.sync")


def push(
    uow: UnitOfWork,
    user: Principal,
    device_id: str,
    raw_items: Sequence[Any],
    forms: FormCache,
    lang: str = "en",
    enforce_window: bool = True,
) -> list[PushResult]:
    """Check and store a batch; one result per item, in item order, returned only after the
    write transaction committed. Each item stands alone: one's failure never undoes another's."""
    started = time.perf_counter()
    batch = _prepare_batch(uow, user, device_id, raw_items, forms, lang, enforce_window)
    uow.end_reading()  # SQLite: the read snapshot ends before the write lock is taken
    results = uow.transaction(lambda session: _apply_batch(session, batch))
    elapsed = time.perf_counter() - started
    metrics.observe_push(results, elapsed)
    counts: dict[str, int] = dict(Counter(str(r.status) for r in results))
    log.info(
        "push",
        extra={
            "device": device_id,
            "user": user.username,
            "items": len(results),
            **counts,
            "duration_ms": round(elapsed * 1000, 1),
        },
    )
    return results


# ---------------------------------------------------------------- findings of the push itself


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


# ---------------------------------------------------------------- phase one: read and check


@dataclass
class _Known:
    """What the batch learned up front (one query each), updated as items apply."""

    schools: dict[str, tuple[int, str]]
    years: dict[int, SchoolYear]
    pushed: dict[str, PushedBefore]
    current: dict[ReturnKey, int]
    previous_values: dict[ReturnKey, dict[str, Any]]
    frozen: dict[ReturnKey, str]  # approved or locked: no new revision until reopened


@dataclass
class _Pending:
    """An item that passed every check and waits to be stored."""

    item: PushItem
    rev: NewRevision
    key: ReturnKey
    unit_path: str
    prepared: Any = None  # what keepers of derived figures worked out ahead (derived.prepare)
    read: Any = None  # what the check engine read of rev.values (CheckResult.cells)


@dataclass
class _Batch:
    """A batch after its reads and checks, waiting for the write transaction."""

    user: Principal
    device_id: str
    lang: str
    enforce_window: bool
    forms: FormCache
    now: Any
    known: _Known
    raw_items: Sequence[Any]
    results: list[PushResult | None]
    # Items in global key order: (position, item, prepared-or-None). Items that share a return
    # or an id with another item of the batch are prepared again, one by one, when applied.
    order: list[tuple[int, PushItem, "_Pending | None", bool]] = field(default_factory=list)
    # Positions whose base was stale in phase one: (id, content hash), looked at again in two.
    stale: dict[int, tuple[str, str]] = field(default_factory=dict)
    # When the device last pushed, as phase one read it (None: a device not registered yet).
    last_push: datetime | None = None


@dataclass(frozen=True)
class _StaleBase:
    """The item's base is not the current revision (a conflict, unless this id got stored)."""

    item_id: str
    digest: str


def _prepare_batch(
    uow: UnitOfWork,
    user: Principal,
    device_id: str,
    raw_items: Sequence[Any],
    forms: FormCache,
    lang: str,
    enforce_window: bool,
) -> _Batch:
    session = uow.reader
    last_push = check_device(session, device_id, user.user_id)
    uow.origin.device = device_id
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
                item_id.lower() if item_id else None,
                *[
                    _invalid_field(".".join(str(p) for p in e["loc"]), e["msg"], lang)
                    for e in exc.errors()
                ],
            )
    schools = schools_by_code(session, {i.school for _, i in items})
    keys = {(i.form, i.year, schools[i.school][0]) for _, i in items if i.school in schools}
    current, previous, frozen = current_and_previous(session, keys)
    known = _Known(
        schools=schools,
        years=years_by_number(session),
        pushed=pushed_before(session, {i.id for _, i in items}),
        current=current,
        previous_values=previous,
        frozen=frozen,
    )
    batch = _Batch(
        user, device_id, lang, enforce_window, forms, uow.now, known, raw_items, results,
        last_push=last_push,
    )  # fmt: skip
    # Every row lock of a batch is taken in one global order, (form, year, school), whatever
    # the order of the items: two batches never wait on each other in a circle. Items of one
    # return keep their order among themselves (a chained edit follows its base).
    shared_key = Counter((i.form, i.year, i.school) for _, i in items)
    shared_id = Counter(i.id for _, i in items)
    for n, item in sorted(items, key=lambda p: (p[1].form, p[1].year, p[1].school, p[0])):
        linked = shared_key[(item.form, item.year, item.school)] > 1 or shared_id[item.id] > 1
        if linked:
            batch.order.append((n, item, None, True))
            continue
        prepared = _prepare(session, batch, known, item)
        if isinstance(prepared, _StaleBase):
            results[n] = PushResult(id=item.id, status="conflict")
            batch.stale[n] = (prepared.item_id, prepared.digest)
        elif isinstance(prepared, PushResult):
            results[n] = prepared
        else:
            batch.order.append((n, item, prepared, False))
    # What keepers of derived figures can do now, outside the write lock (derived.prepare).
    ready = [p for _, _, p, _ in batch.order if p is not None]
    ahead = derived.prepare(
        session,
        [(p.rev.form, p.rev.form_version, p.rev.values, p.rev.school_id, p.read) for p in ready],
    )
    for p, made in zip(ready, ahead, strict=True):
        p.prepared = made
    return batch


def _prepare(
    session: Session, batch: _Batch, known: _Known, item: PushItem
) -> PushResult | _Pending | _StaleBase:
    """Every check an item must pass before it is stored; a final result when it fails one."""
    lang = batch.lang
    school = known.schools.get(item.school)
    if school is None:
        return _rejected(
            item.id,
            _finding(
                "UNKNOWN_SCHOOL", push_message("UNKNOWN_SCHOOL", lang, school=item.school), "school"
            ),
        )
    school_id, unit_path = school
    # The area comes first: a push id known from another area must not reveal its result.
    if not batch.user.covers(unit_path):
        return _rejected(
            item.id,
            _finding(
                "OUTSIDE_AREA",
                push_message("OUTSIDE_AREA", lang, school=item.school, area=batch.user.unit_code),
                "school",
            ),
        )
    form = batch.forms.get(session, item.form, item.form_version)

    def digest_of(values: Any) -> str:
        return content_hash(
            item.form, item.form_version, item.year, item.school, item.base_revision, values
        )

    def canonical_digest() -> str:
        return digest_of(canonical_values(form, item.values) if form else item.values)

    if item.id in known.pushed:
        return _pushed_again(item.id, canonical_digest(), known.pushed[item.id], lang)
    year = known.years.get(item.year)
    if year is None:
        return _rejected(
            item.id,
            _finding("UNKNOWN_YEAR", push_message("UNKNOWN_YEAR", lang, year=item.year), "year"),
        )
    if batch.enforce_window and not year.is_open(batch.now):
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
    if status := known.frozen.get(key):
        code = "RETURN_LOCKED" if status == "locked" else "RETURN_APPROVED"
        return _rejected(
            item.id, _finding(code, push_message(code, lang, school=item.school), "school")
        )
    if item.base_revision != known.current.get(key, 0):
        return _StaleBase(item.id, canonical_digest())
    checked = form.check(item.values, known.previous_values.get(key), lang)
    if checked.structure_errors:
        return PushResult(
            id=item.id, status="rejected", errors=[f.as_dict() for f in checked.structure_errors]
        )
    # The cells the check read are stored in canonical form (no second reading of the values).
    values = canonical_from_cells(form, checked.cells)
    digest = digest_of(values)
    errors = [f.as_stored() for f in checked.rule_errors]
    warnings = [f.as_stored() for f in checked.warnings]
    rev = NewRevision(
        form=item.form,
        form_version=item.form_version,
        year=item.year,
        school_id=school_id,
        base_revision=item.base_revision,
        values=values,
        status=ReturnStatus.INVALID if errors else ReturnStatus.SUBMITTED,
        errors=errors,
        warnings=warnings,
        push_id=item.id,
        content_hash=digest,
        user_id=batch.user.user_id,
        device_id=batch.device_id,
        captured_at=item.captured_at,
        now=batch.now,
        school_code=item.school,
    )
    return _Pending(item, rev, key, unit_path, read=checked.cells)


def _pushed_again(item_id: str, digest: str, known: PushedBefore, lang: str) -> PushResult:
    if known.content_hash == digest:
        return PushResult(
            id=item_id,
            status="duplicate",
            revision=known.revision,
            return_status=known.status,
            errors=localized(known.errors, lang),
            warnings=localized(known.warnings, lang),
        )
    return PushResult(
        id=item_id,
        status="conflict",
        errors=[
            _finding(
                "ID_REUSED",
                push_message("ID_REUSED", lang, id=item_id, revision=known.revision),
                "id",
            )
        ],
    )


# ---------------------------------------------------------------- phase two: the write


@dataclass
class _Apply:
    """The state of one attempt at the write transaction (a retry starts from a fresh one)."""

    session: Session
    batch: _Batch
    known: _Known
    changes: list[Change]
    wrote: bool = False  # has this attempt written anything yet?


def _apply_batch(session: Session, batch: _Batch) -> list[PushResult]:
    """Store a prepared batch in the write transaction, in global key order; the unit of work
    commits. Safe to run again after a rollback: it changes nothing of `batch`."""
    known = copy.copy(batch.known)
    known.current = dict(known.current)
    known.pushed = dict(known.pushed)
    run = _Apply(session, batch, known, [])
    results = list(batch.results)
    _recheck_conflicts(run, results)
    lock_returns(
        session, [p.key for _, _, p, _ in batch.order if p is not None and p.rev.base_revision]
    )
    for _, _, p, _ in batch.order:
        if p is not None:
            derived.hand_over(session, p.rev.values, p.prepared)
    together: list[tuple[int, _Pending]] = []
    for n, item, prepared, linked in batch.order:
        if not linked and prepared is not None:
            together.append((n, prepared))
            continue
        _store_together(run, together, results)
        together = []
        again = _prepare(session, batch, known, item)
        if isinstance(again, _StaleBase):
            results[n] = _conflict_unless_pushed(run, again.item_id, again.digest)
        elif isinstance(again, PushResult):
            results[n] = again
        else:
            results[n] = _store_alone(run, again)
    _store_together(run, together, results)
    conflicted: dict[int, ReturnKey] = {}
    for n, outcome in enumerate(results):
        raw = batch.raw_items[n]
        school = known.schools.get(str(raw.get("school"))) if isinstance(raw, dict) else None
        if outcome is not None and outcome.status == "conflict" and not outcome.errors and school:
            conflicted[n] = (raw["form"], raw["year"], school[0])
    if conflicted:
        current = returns_public(session, list(set(conflicted.values())), batch.lang)
        for n, key in conflicted.items():
            results[n].current = current.get(key)  # type: ignore[union-attr]
    note_changes(session, run.changes)
    if needs_touch(batch.last_push, batch.now):
        touch_device(session, batch.device_id, batch.user.user_id, batch.now)
    return [r for r in results if r is not None]


def _recheck_conflicts(run: _Apply, results: list[PushResult | None]) -> None:
    """A stale base found in phase one may be this very id, stored meanwhile by a concurrent
    retry: then it is that item's result again, not a conflict (one query for all of them)."""
    stale = run.batch.stale
    if not stale:
        return
    found = pushed_before(run.session, [item_id for item_id, _ in stale.values()])
    for n, (item_id, digest) in stale.items():
        if item_id in found:
            results[n] = _pushed_again(item_id, digest, found[item_id], run.batch.lang)


def _applied(run: _Apply, p: _Pending, number: int) -> PushResult:
    rev = p.rev
    run.known.current[p.key] = number
    run.known.pushed[p.item.id] = PushedBefore(
        rev.content_hash, number, rev.status, rev.errors, rev.warnings
    )
    run.changes.append(
        Change("return", f"{p.item.form}/{p.item.year}/{p.item.school}", "upsert", p.unit_path)
    )
    return PushResult(
        id=p.item.id,
        status="applied",
        revision=number,
        return_status=rev.status,
        errors=localized(rev.errors, run.batch.lang),
        warnings=localized(rev.warnings, run.batch.lang),
    )


def _store_together(
    run: _Apply, pending: list[tuple[int, _Pending]], results: list[PushResult | None]
) -> None:
    """Store independent items with a few multi-row statements; if a concurrent writer makes
    any of them collide, undo them and store them one by one instead. Items stored before
    anything else in the transaction need no savepoint (two round trips less per request): a
    collision then rolls the whole transaction back."""
    if not pending:
        return
    first = not run.wrote
    run.wrote = True
    try:
        if first:
            numbers = apply_revisions(run.session, [p.rev for _, p in pending])
        else:
            with run.session.begin_nested():
                numbers = apply_revisions(run.session, [p.rev for _, p in pending])
    except IntegrityError:
        if first:
            expect_rollback(run.session)
            run.session.rollback()
        for n, p in pending:
            results[n] = _store_alone(run, p)
        return
    for (n, p), number in zip(pending, numbers, strict=True):
        results[n] = (
            _conflict_unless_pushed(run, p.item.id, p.rev.content_hash)
            if number is None
            else _applied(run, p, number)
        )


def _store_alone(run: _Apply, p: _Pending) -> PushResult:
    """Store one item in its own savepoint; a unique violation means someone got in first."""
    run.wrote = True
    derived.hand_over(run.session, p.rev.values, p.prepared)
    try:
        with run.session.begin_nested():
            number = apply_revision(run.session, p.rev)
    except IntegrityError:
        number = None
    if number is not None:
        return _applied(run, p, number)
    return _conflict_unless_pushed(run, p.item.id, p.rev.content_hash)


def _conflict_unless_pushed(run: _Apply, item_id: str, digest: str) -> PushResult:
    """A stale base or a lost race is a conflict, unless this very id was stored meanwhile by a
    concurrent request (a retry): then it is that item's result again. Each statement sees what
    was committed before it, so this read catches what the batch's first reads missed."""
    again = pushed_before(run.session, [item_id]).get(item_id)
    if again is not None:
        return _pushed_again(item_id, digest, again, run.batch.lang)
    return PushResult(id=item_id, status="conflict")
