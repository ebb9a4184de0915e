"""The returns store: apply a checked revision, read current returns and their history."""

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import orjson
from sqlalchemy import and_, event, func, insert, or_, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from app.auth.models import User
from app.core.audit import note_audit
from app.core.db import keys_in
from app.core.derived import mark
from app.core.errors import NotFound
from app.core.paging import decode_cursor, encode_cursor
from app.core.principal import Principal
from app.registry.models import AdminUnit, School
from app.registry.service import area_path, school_in_area, subtree_filter
from app.returns.models import CensusReturn, ReturnRevision, ReturnStatusChange
from app.returns.schemas import (
    HistoryPublic,
    ReturnPage,
    ReturnPublic,
    ReturnSummary,
    RevisionPublic,
    StatusChangePublic,
)


class ReturnStatus(StrEnum):
    """Where a return stands (DOMAIN.md); every change of it is a status history row."""

    SUBMITTED = "submitted"
    INVALID = "invalid"
    RETURNED = "returned"
    APPROVED = "approved"
    LOCKED = "locked"


STATUSES = tuple(s.value for s in ReturnStatus)
ReturnKey = tuple[str, int, int]  # (form, year, school id)


@dataclass(frozen=True)
class PushedBefore:
    """What a push id already stored: the content it carried and the result it got."""

    content_hash: str
    revision: int
    status: str
    errors: list[Any]
    warnings: list[Any]


def pushed_before(session: Session, push_ids: Collection[str]) -> dict[str, PushedBefore]:
    """The revisions these push ids stored, by id (one indexed IN list)."""
    if not push_ids:
        return {}
    return {
        pid: PushedBefore(h, rev, st, e, w)
        for pid, h, rev, st, e, w in session.execute(
            select(
                col(ReturnRevision.push_id),
                col(ReturnRevision.content_hash),
                col(ReturnRevision.revision),
                col(ReturnRevision.status),
                col(ReturnRevision.errors),
                col(ReturnRevision.warnings),
            ).where(col(ReturnRevision.push_id).in_(list(push_ids)))
        )
    }


FROZEN = (ReturnStatus.APPROVED.value, ReturnStatus.LOCKED.value)


def current_and_previous(
    session: Session, keys: Collection[ReturnKey]
) -> tuple[dict[ReturnKey, int], dict[ReturnKey, dict[str, Any]], dict[ReturnKey, str]]:
    """For (form, year, school id) keys: the current revision number of each return that
    exists, the values of the same school's return of the year before (for plausibility), and
    the status of those that are approved or locked (no new revision until reopened)."""
    current: dict[ReturnKey, int] = {}
    previous: dict[ReturnKey, dict[str, Any]] = {}
    frozen: dict[ReturnKey, str] = {}
    if not keys:
        return current, previous, frozen
    # IN lists on indexed columns, filtered here: one index probe per school, whatever the
    # size of the table (a long OR of ANDs makes some planners scan it).
    school_ids = {k[2] for k in keys}
    years = {k[1] for k in keys} | {k[1] - 1 for k in keys}
    rows = session.execute(
        select(
            col(CensusReturn.id),
            col(CensusReturn.form_code),
            col(CensusReturn.year),
            col(CensusReturn.school_id),
            col(CensusReturn.revision),
            col(CensusReturn.status),
        ).where(col(CensusReturn.school_id).in_(school_ids), col(CensusReturn.year).in_(years))
    ).all()
    last_year: dict[int, ReturnKey] = {}
    for rid, f, y, sid, rev, status in rows:
        if (f, y, sid) in keys:
            current[(f, y, sid)] = rev
            if status in FROZEN:
                frozen[(f, y, sid)] = status
        if (f, y + 1, sid) in keys:
            last_year[rid] = (f, y + 1, sid)  # type: ignore[index]  # a primary key
    if last_year:
        seen = _seen_values(session)
        for rid, number, values in session.execute(
            select(
                col(ReturnRevision.return_id),
                col(ReturnRevision.revision),
                col(ReturnRevision.values),
            )
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
            seen[(rid, number)] = values
    return current, previous, frozen


def lock_returns(session: Session, keys: Collection[ReturnKey]) -> None:
    """Lock the existing returns among `keys` in one global order (PostgreSQL; SQLite has a
    single writer): two batches that touch the same returns then never wait on each other in
    a circle, whatever order their items came in."""
    if len(keys) < 2 or session.get_bind().dialect.name != "postgresql":
        return
    session.execute(
        select(col(CensusReturn.id))
        .where(
            col(CensusReturn.school_id).in_({k[2] for k in keys}),
            col(CensusReturn.year).in_({k[1] for k in keys}),
        )
        .order_by(col(CensusReturn.id))
        .with_for_update()
    ).all()


def last_status_change(session: Session) -> int:
    """The id of the latest status history row: it moves with every revision and every status
    change (caches of figures built from returns key on it)."""
    return int(session.scalar(select(func.max(ReturnStatusChange.id))) or 0)


_SEEN = "revision_values_seen"


def _seen_values(session: Session) -> dict[tuple[int, int], dict[str, Any]]:
    """Revision values this transaction already holds, by (return id, revision): revisions are
    immutable, so whoever needs them again in the same transaction need not read them back."""
    seen: dict[tuple[int, int], dict[str, Any]] = session.info.setdefault(_SEEN, {})
    if len(seen) > 5000:
        seen.clear()
    return seen


@dataclass(frozen=True)
class ReturnState:
    """What derived figures need of a return: where it is and which revision is current."""

    id: int
    form: str
    form_version: int
    year: int
    school_id: int
    revision: int
    status: str


_STATE_COLUMNS = (
    col(CensusReturn.id),
    col(CensusReturn.form_code),
    col(CensusReturn.form_version),
    col(CensusReturn.year),
    col(CensusReturn.school_id),
    col(CensusReturn.revision),
    col(CensusReturn.status),
)


_STATES = "return_states_written"


def _written_states(session: Session) -> dict[int, ReturnState]:
    """States of the returns this transaction wrote, by id (their rows are locked by it, so
    nobody else can change them before it ends); forgotten when the transaction or any
    savepoint in it ends (see _forget_written)."""
    states: dict[int, ReturnState] = session.info.setdefault(_STATES, {})
    return states


@event.listens_for(Session, "after_commit")
def _forget_written(session: Session, *_: Any) -> None:
    # After the commit the rows are no longer locked by this session (the event also comes
    # when a savepoint is released: then the hand is dropped too early, never too late).
    session.info.pop(_STATES, None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_undone(session: Session, *_: Any) -> None:
    # A rollback (of the transaction or of a savepoint) may have undone rows and revisions
    # held in hand; a retry or a concurrent writer may store other values under the same
    # (return, revision). What is still needed is read back.
    session.info.pop(_STATES, None)
    session.info.pop(_SEEN, None)


def return_states(session: Session, return_ids: Collection[int]) -> dict[int, ReturnState]:
    """The current state of these returns (those that exist), by id: those this transaction
    wrote from its own hand (the keeper asks for them just before the commit), the others in
    one query per thousand."""
    written = session.info.get(_STATES) or {}
    out: dict[int, ReturnState] = {i: written[i] for i in return_ids if i in written}
    ids = sorted(i for i in return_ids if i not in out)
    for i in range(0, len(ids), 1000):
        for row in session.execute(
            select(*_STATE_COLUMNS).where(col(CensusReturn.id).in_(ids[i : i + 1000]))
        ):
            out[row[0]] = ReturnState(*row)  # type: ignore[index,arg-type]  # ids are never NULL
    return out


def return_states_of_schools(
    session: Session, school_ids: Collection[int], years: Collection[int] | None = None
) -> list[ReturnState]:
    """Every return of these schools (of these years only, when given)."""
    out: list[ReturnState] = []
    ids = sorted(school_ids)
    for i in range(0, len(ids), 1000):
        q = select(*_STATE_COLUMNS).where(col(CensusReturn.school_id).in_(ids[i : i + 1000]))
        if years is not None:
            q = q.where(col(CensusReturn.year).in_(sorted(years)))
        out += [ReturnState(*row) for row in session.execute(q)]  # type: ignore[arg-type]
    return out


@dataclass(frozen=True)
class ReviewState:
    """What a review needs of a return: which revision is current and how far it climbed."""

    id: int
    school_id: int
    revision: int
    status: str
    approved_level: int | None


def review_states(
    session: Session, form: str, year: int, school_ids: Collection[int]
) -> dict[int, ReviewState]:
    """The returns of one form and year for these schools, by school id."""
    out: dict[int, ReviewState] = {}
    ids = sorted(school_ids)
    for i in range(0, len(ids), 1000):
        for row in session.execute(
            select(
                col(CensusReturn.id),
                col(CensusReturn.school_id),
                col(CensusReturn.revision),
                col(CensusReturn.status),
                col(CensusReturn.approved_level),
            ).where(
                col(CensusReturn.form_code) == form,
                col(CensusReturn.year) == year,
                col(CensusReturn.school_id).in_(ids[i : i + 1000]),
            )
        ):
            state = ReviewState(*row)  # type: ignore[arg-type]
            out[state.school_id] = state
    return out


def first_received(
    session: Session, form: str, year: int, school_ids: Collection[int]
) -> dict[int, tuple[str, datetime]]:
    """For each of these schools with a return of this form and year: its current status and
    when its first revision arrived (what timeliness is judged on)."""
    out: dict[int, tuple[str, datetime]] = {}
    ids = sorted(school_ids)
    for i in range(0, len(ids), 1000):
        for sid, status, first in session.execute(
            select(
                col(CensusReturn.school_id),
                col(CensusReturn.status),
                func.min(col(ReturnRevision.received_at)),
            )
            .join(ReturnRevision, col(ReturnRevision.return_id) == CensusReturn.id)
            .where(
                col(CensusReturn.form_code) == form,
                col(CensusReturn.year) == year,
                col(CensusReturn.school_id).in_(ids[i : i + 1000]),
            )
            .group_by(col(CensusReturn.school_id), col(CensusReturn.status))
        ):
            if isinstance(first, str):  # SQLite's min() hands back the stored text
                first = datetime.fromisoformat(first)
            if first.tzinfo is None:
                first = first.replace(tzinfo=UTC)
            out[int(sid)] = (str(status), first)
    return out


@dataclass(frozen=True)
class ApprovedReturn:
    school: str
    revision: int
    id: int
    status: str
    approved_level: int | None
    unit_path: str


def approved_revisions(session: Session, form: str, year: int) -> list[ApprovedReturn]:
    """Every approved or locked return of a form and year, by school code: what a release is
    built from."""
    return [
        ApprovedReturn(str(code), int(rev), rid, str(status), level, str(path))  # type: ignore[arg-type]  # a primary key
        for code, rev, rid, status, level, path in session.execute(
            select(
                col(School.code),
                col(CensusReturn.revision),
                col(CensusReturn.id),
                col(CensusReturn.status),
                col(CensusReturn.approved_level),
                col(AdminUnit.path),
            )
            .join(School, col(School.id) == CensusReturn.school_id)
            .join(AdminUnit, col(AdminUnit.id) == School.admin_unit_id)
            .where(
                col(CensusReturn.form_code) == form,
                col(CensusReturn.year) == year,
                col(CensusReturn.status).in_(FROZEN),
            )
            .order_by(col(School.code))
        )
    ]


def all_return_states(session: Session, after_id: int = 0, limit: int = 2000) -> list[ReturnState]:
    """Every return in id order, a page at a time (a rebuild of derived figures walks them)."""
    return [
        ReturnState(*row)  # type: ignore[arg-type]  # ids are never NULL
        for row in session.execute(
            select(*_STATE_COLUMNS)
            .where(col(CensusReturn.id) > after_id)
            .order_by(col(CensusReturn.id))
            .limit(limit)
        )
    ]


def revision_values(
    session: Session, wanted: Collection[tuple[int, int]]
) -> dict[tuple[int, int], dict[str, Any]]:
    """The values of these (return id, revision) pairs: from this transaction's hand when it
    has them, else in one query per thousand."""
    seen = _seen_values(session)
    out = {k: seen[k] for k in wanted if k in seen}
    missing = sorted(k for k in wanted if k not in out)
    pair = [col(ReturnRevision.return_id), col(ReturnRevision.revision)]
    for i in range(0, len(missing), 500):
        for rid, number, values in session.execute(
            select(
                col(ReturnRevision.return_id),
                col(ReturnRevision.revision),
                col(ReturnRevision.values),
            ).where(keys_in(pair, missing[i : i + 500]))
        ):
            out[(rid, number)] = values
    return out


def return_keys_of_schools(
    session: Session, school_ids: Collection[int]
) -> dict[int, list[tuple[str, int]]]:
    """(form, year) of every return of these schools, by school id."""
    out: dict[int, list[tuple[str, int]]] = {i: [] for i in school_ids}
    if not school_ids:
        return out
    for sid, form, year in session.execute(
        select(col(CensusReturn.school_id), col(CensusReturn.form_code), col(CensusReturn.year))
        .where(col(CensusReturn.school_id).in_(list(school_ids)))
        .order_by(col(CensusReturn.year), col(CensusReturn.form_code))
    ):
        out[sid].append((form, year))
    return out


def content_hash(
    form: str, form_version: int, year: int, school: str, base_revision: int, values: dict[str, Any]
) -> str:
    """What makes two pushes of one id 'the same content'."""
    blob = orjson.dumps(
        [form, form_version, year, school, base_revision, values], option=orjson.OPT_SORT_KEYS
    )
    return hashlib.sha256(blob).hexdigest()


@dataclass
class NewRevision:
    """Everything needed to store one revision."""

    form: str
    form_version: int
    year: int
    school_id: int
    base_revision: int
    values: dict[str, Any]
    status: ReturnStatus
    errors: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    push_id: str | None
    content_hash: str
    user_id: int | None
    device_id: str | None
    captured_at: datetime | None
    now: datetime
    school_code: str = ""  # for the audit trail, which names returns as the API does


def apply_revision(session: Session, rev: NewRevision) -> int | None:
    """Store one revision if its base is still current (see apply_revisions)."""
    return apply_revisions(session, [rev])[0]


def apply_revisions(session: Session, revs: list[NewRevision]) -> list[int | None]:
    """Store revisions of different returns with multi-row statements; None where the base is
    stale. Run inside a savepoint: a unique-constraint error means a concurrent writer won."""
    numbers: list[int | None] = [None] * len(revs)
    return_ids: list[int | None] = [None] * len(revs)
    from_status: list[str | None] = [None] * len(revs)
    for i, rev in enumerate(revs):
        if rev.base_revision > 0:
            row = session.execute(
                update(CensusReturn)
                .where(
                    col(CensusReturn.form_code) == rev.form,
                    col(CensusReturn.year) == rev.year,
                    col(CensusReturn.school_id) == rev.school_id,
                    col(CensusReturn.revision) == rev.base_revision,
                    # Approved or locked since the push read it: stale, like another revision.
                    col(CensusReturn.status).not_in(FROZEN),
                )
                .values(
                    revision=rev.base_revision + 1,
                    approved_level=None,
                    status=rev.status,
                    form_version=rev.form_version,
                    updated_at=rev.now,
                    updated_by=rev.user_id,
                )
                .returning(col(CensusReturn.id))
            ).first()
            if row is not None:
                return_ids[i], numbers[i] = row[0], rev.base_revision + 1
                from_status[i] = _last_status(session, row[0])  # type: ignore[arg-type]  # RETURNING a primary key
    first = [i for i, rev in enumerate(revs) if rev.base_revision == 0]
    if first:
        ids = (
            session.execute(
                insert(CensusReturn).returning(col(CensusReturn.id), sort_by_parameter_order=True),
                [
                    {
                        "form_code": revs[i].form,
                        "year": revs[i].year,
                        "school_id": revs[i].school_id,
                        "form_version": revs[i].form_version,
                        "revision": 1,
                        "status": revs[i].status,
                        "updated_at": revs[i].now,
                        "updated_by": revs[i].user_id,
                    }
                    for i in first
                ],
            )
            .scalars()
            .all()
        )
        for i, rid in zip(first, ids, strict=True):
            return_ids[i], numbers[i] = rid, 1
    done = [i for i in range(len(revs)) if numbers[i] is not None]
    if done:
        # The derived figures follow these returns before the commit (app.core.derived); the
        # values they need are at hand here, so the keeper need not read them back.
        seen = _seen_values(session)
        for i in done:
            seen[(return_ids[i], numbers[i])] = revs[i].values  # type: ignore[index]
        mark(session, "return", [return_ids[i] for i in done])  # type: ignore[misc]
        for i in done:
            rev = revs[i]
            note_audit(
                session,
                "return.revise",
                f"{rev.form}/{rev.year}/{rev.school_code or rev.school_id}",
                id=return_ids[i],
                revision=numbers[i],
                push_id=rev.push_id,
                status=rev.status.value,
                cells=len(rev.values),
            )
        session.execute(
            insert(ReturnRevision),
            # Both are set together for every revision in `done`.
            [_revision_row(revs[i], return_ids[i], numbers[i]) for i in done],  # type: ignore[arg-type]
        )
        session.execute(
            insert(ReturnStatusChange),
            [
                {
                    "return_id": return_ids[i],
                    "revision": numbers[i],
                    "from_status": from_status[i],
                    "to_status": revs[i].status,
                    "comment": None,
                    "user_id": revs[i].user_id,
                    "at": revs[i].now,
                }
                for i in done
            ],
        )
        written = _written_states(session)
        for i in done:
            rev, rid, number = revs[i], return_ids[i], numbers[i]
            written[rid] = ReturnState(  # type: ignore[index]  # both set for `done`
                rid,  # type: ignore[arg-type]
                rev.form,
                rev.form_version,
                rev.year,
                rev.school_id,
                number,  # type: ignore[arg-type]
                rev.status.value,
            )
    return numbers


def change_status(
    session: Session,
    return_id: int,
    to: ReturnStatus,
    *,
    by: int | None,
    at: datetime,
    comment: str | None = None,
    approved_level: int | None = None,
) -> ReturnStatus:
    """Move a return to another status (a review, an approval, a lock) and write its history
    row; the one way a status changes besides a new revision. Returns the status it left.
    `approved_level` is the rung that approved (kept on the return while approved or locked)."""
    row = session.execute(
        select(col(CensusReturn.status), col(CensusReturn.revision)).where(
            col(CensusReturn.id) == return_id
        )
    ).one()
    before = ReturnStatus(row[0])
    _written_states(session).pop(return_id, None)
    session.execute(
        update(CensusReturn)
        .where(col(CensusReturn.id) == return_id)
        .values(
            status=to.value,
            updated_at=at,
            updated_by=by,
            approved_level=approved_level if to.value in FROZEN else None,
        )
    )
    mark(session, "return", [return_id])
    note_audit(
        session,
        "return.status",
        str(return_id),
        id=return_id,
        revision=row[1],
        before=before.value,
        after=to.value,
        level=approved_level,
    )
    session.execute(
        insert(ReturnStatusChange).values(
            return_id=return_id,
            revision=row[1],
            from_status=before.value,
            to_status=to.value,
            at_level=approved_level,
            comment=comment,
            user_id=by,
            at=at,
        )
    )
    return before


def _revision_row(rev: NewRevision, return_id: int, number: int) -> dict[str, Any]:
    return {
        "return_id": return_id,
        "revision": number,
        "form_version": rev.form_version,
        "values": rev.values,
        "push_id": rev.push_id,
        "content_hash": rev.content_hash,
        "status": rev.status,
        "errors": rev.errors,
        "warnings": rev.warnings,
        "user_id": rev.user_id,
        "device_id": rev.device_id,
        "captured_at": rev.captured_at,
        "received_at": rev.now,
    }


def _last_status(session: Session, return_id: int) -> str | None:
    return session.scalar(
        select(col(ReturnStatusChange.to_status))
        .where(col(ReturnStatusChange.return_id) == return_id)
        .order_by(col(ReturnStatusChange.id).desc())
        .limit(1)
    )


def _usernames(session: Session, ids: set[int | None]) -> dict[int, str]:
    ids_ = {i for i in ids if i is not None}
    if not ids_:
        return {}
    return {
        i: n  # type: ignore[misc]  # primary keys are never NULL
        for i, n in session.execute(
            select(col(User.id), col(User.username)).where(col(User.id).in_(ids_))
        )
    }


def _comments(session: Session, return_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in return_ids}
    if not return_ids:
        return out
    rows = session.execute(
        select(ReturnStatusChange, col(User.username))
        .outerjoin(User, col(User.id) == ReturnStatusChange.user_id)
        .where(
            col(ReturnStatusChange.return_id).in_(return_ids),
            col(ReturnStatusChange.comment).is_not(None),
        )
        .order_by(col(ReturnStatusChange.id))
    ).all()
    for ch, name in rows:
        out[ch.return_id].append(
            {
                "revision": ch.revision,
                "status": ch.to_status,
                "comment": ch.comment,
                "user": name,
                "at": ch.at.isoformat(),
            }
        )
    return out


def localized(findings: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    """Stored findings in the API's shape, their message in the reader's language: rendered
    from their params (`{code, path, severity, params}`), or, stored before findings were data,
    from their kept text (see app.i18n.render_finding)."""
    from app.i18n import render_findings  # here, not at the top: only this body is i18n's

    return render_findings(findings, lang)


def returns_public(
    session: Session, keys: list[tuple[str, int, int]], lang: str = "en"
) -> dict[tuple[str, int, int], ReturnPublic]:
    """Current returns for (form, year, school_id) keys, with values, findings (in `lang`) and
    comments."""
    if not keys:
        return {}
    conds = [
        and_(
            col(CensusReturn.form_code) == f,
            col(CensusReturn.year) == y,
            col(CensusReturn.school_id) == s,
        )
        for f, y, s in keys
    ]
    out: dict[tuple[str, int, int], ReturnPublic] = {}
    for i in range(0, len(conds), 200):
        rows = session.execute(
            select(CensusReturn, ReturnRevision, col(School.code))
            .join(
                ReturnRevision,
                and_(
                    col(ReturnRevision.return_id) == CensusReturn.id,
                    col(ReturnRevision.revision) == CensusReturn.revision,
                ),
            )
            .join(School, col(School.id) == CensusReturn.school_id)
            .where(or_(*conds[i : i + 200]))
        ).all()
        names = _usernames(session, {r.updated_by for r, _, _ in rows})
        comments = _comments(session, [r.id for r, _, _ in rows])  # type: ignore[misc]  # loaded rows have ids
        for ret, rev, code in rows:
            out[(ret.form_code, ret.year, ret.school_id)] = ReturnPublic(
                form=ret.form_code,
                form_version=ret.form_version,
                year=ret.year,
                school=code,
                revision=ret.revision,
                status=ret.status,
                values=rev.values,
                errors=localized(rev.errors, lang),
                warnings=localized(rev.warnings, lang),
                updated_at=ret.updated_at,
                updated_by=names.get(ret.updated_by) if ret.updated_by else None,
                comments=comments.get(ret.id, []),  # type: ignore[arg-type]  # loaded rows have ids
                approved_level=ret.approved_level,
            )
    return out


def get_return(
    session: Session, user: Principal, form: str, year: int, school: str, lang: str = "en"
) -> ReturnPublic:
    """The current revision of one return."""
    s, _unit = school_in_area(session, user, school)
    found = returns_public(session, [(form, year, s.id)], lang)  # type: ignore[list-item]
    if not found:
        raise NotFound(f"No {form} return for school {school} in {year}.")
    return next(iter(found.values()))


def get_history(
    session: Session, user: Principal, form: str, year: int, school: str, lang: str = "en"
) -> HistoryPublic:
    """Every revision and every status change of one return."""
    s, _unit = school_in_area(session, user, school)
    ret = session.scalar(
        select(CensusReturn).where(
            col(CensusReturn.form_code) == form,
            col(CensusReturn.year) == year,
            col(CensusReturn.school_id) == s.id,
        )
    )
    if ret is None:
        raise NotFound(f"No {form} return for school {school} in {year}.")
    revs = list(
        session.scalars(
            select(ReturnRevision)
            .where(col(ReturnRevision.return_id) == ret.id)
            .order_by(col(ReturnRevision.revision))
        )
    )
    changes = list(
        session.scalars(
            select(ReturnStatusChange)
            .where(col(ReturnStatusChange.return_id) == ret.id)
            .order_by(col(ReturnStatusChange.id))
        )
    )
    names = _usernames(session, {r.user_id for r in revs} | {c.user_id for c in changes})
    return HistoryPublic(
        form=form,
        year=year,
        school=school,
        revisions=[
            RevisionPublic(
                revision=r.revision,
                form_version=r.form_version,
                status=r.status,
                values=r.values,
                errors=localized(r.errors, lang),
                warnings=localized(r.warnings, lang),
                user=names.get(r.user_id) if r.user_id else None,
                device_id=r.device_id,
                push_id=r.push_id,
                captured_at=r.captured_at,
                received_at=r.received_at,
            )
            for r in revs
        ],
        status_changes=[
            StatusChangePublic(
                revision=c.revision,
                from_status=c.from_status,
                to_status=c.to_status,
                comment=c.comment,
                user=names.get(c.user_id) if c.user_id else None,
                at=c.at,
            )
            for c in changes
        ],
    )


def list_returns(
    session: Session,
    user: Principal,
    form: str | None,
    year: int | None,
    unit: str | None,
    status: str | None,
    cursor: str | None,
    limit: int,
) -> ReturnPage:
    """Returns within the caller's area, filtered, in a stable order."""
    area = area_path(session, user, unit)
    q = (
        select(CensusReturn, col(School.code), col(AdminUnit.code))
        .join(School, col(School.id) == CensusReturn.school_id)
        .join(AdminUnit, col(AdminUnit.id) == School.admin_unit_id)
        .where(subtree_filter(AdminUnit.path, area))
    )
    if form:
        q = q.where(col(CensusReturn.form_code) == form)
    if year is not None:
        q = q.where(col(CensusReturn.year) == year)
    if status:
        q = q.where(col(CensusReturn.status) == status)
    if cursor:
        q = q.where(col(CensusReturn.id) > decode_cursor(cursor, {"i": int})["i"])
    rows = session.execute(q.order_by(col(CensusReturn.id)).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return ReturnPage(
        items=[
            ReturnSummary(
                form=r.form_code,
                form_version=r.form_version,
                year=r.year,
                school=sc,
                unit=uc,
                revision=r.revision,
                status=r.status,
                updated_at=r.updated_at,
            )
            for r, sc, uc in rows
        ],
        next_cursor=encode_cursor({"i": rows[-1][0].id}) if more else None,
    )


def count_by_status(session: Session) -> list[tuple[str, int]]:
    """How many returns stand at each status (for the operations view)."""
    return [
        (status, int(n))
        for status, n in session.execute(
            select(col(CensusReturn.status), func.count()).group_by(col(CensusReturn.status))
        )
    ]
