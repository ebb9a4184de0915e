"""Review and approval: the ladder of admin levels a return climbs, one rung at a time.

A return that passes its checks is `submitted`. A reviewer whose area is a unit at the ladder's
first rung (the district, in the demo) approves it or sends it back (`returned`, with a comment
the clerk sees on the next pull); the next rung up (the region) approves what the rung below
approved, and so on to the top (national). The return keeps the level of the highest rung that
approved it. A unit is approved at a rung in one step only when every open school of the unit
has a return awaiting that rung (or already approved at it or above) or is excused with a
reason; while any return is invalid, returned or behind, the bulk approval refuses and names
them. Approved and locked returns take no new revision (the push rejects it) until a reviewer
sends them back or an administrator reopens them; a reopened return is `returned`, so its
next revision starts the climb again from `submitted`."""

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.core.audit import note_audit
from app.core.changelog import Change, get_meta, note_changes, set_meta
from app.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.core.principal import Principal
from app.core.uow import UnitOfWork
from app.registry.service import (
    area_path,
    get_year,
    open_schools_under,
    school_in_area,
    school_levels_in_use,
)
from app.returns.schemas import ReturnPublic
from app.returns.service import (
    ReturnStatus,
    ReviewState,
    change_status,
    returns_public,
    review_states,
)
from app.review.models import ReturnExcuse

LADDER_KEY = "approval_ladder"


def ladder(session: Session) -> list[int]:
    """The admin levels that approve, first rung first (deepest level first). Unless an
    administrator set it: every level from the deepest that holds schools up to the nation."""
    raw = get_meta(session, LADDER_KEY)
    if raw:
        return [int(x) for x in raw.split(",")]
    levels = school_levels_in_use(session)
    return list(range(levels[0] if levels else 0, -1, -1))


def set_ladder(uow: UnitOfWork, levels: list[int]) -> list[int]:
    """Set the ladder: distinct admin levels, deepest first (e.g. 2, 1, 0)."""
    if not levels or any(not 0 <= lv <= 100 for lv in levels):
        raise InvalidInput(
            "The ladder needs one or more admin levels between 0 and 100.",
            [{"code": "BAD_LADDER", "path": "levels", "message": str(levels)}],
        )
    if levels != sorted(set(levels), reverse=True):
        raise InvalidInput(
            "List the ladder's levels deepest first, each once (e.g. 2,1,0).",
            [{"code": "BAD_LADDER", "path": "levels", "message": str(levels)}],
        )
    session = uow.session
    set_meta(session, LADDER_KEY, ",".join(str(lv) for lv in levels))
    note_audit(session, "review.ladder", ",".join(str(lv) for lv in levels))
    return levels


def _level_of(user: Principal) -> int:
    """The admin level of the caller's area (its depth in the tree; the nation is 0)."""
    return user.unit_path.strip("/").count("/")


def _rung(session: Session, user: Principal) -> tuple[list[int], int]:
    """The ladder and the caller's rung on it (403 when the caller's level approves nothing)."""
    steps = ladder(session)
    level = _level_of(user)
    if level not in steps:
        raise Forbidden(
            f"Your area ({user.unit_code}, level {level}) is not a rung of the approval ladder "
            f"(levels {', '.join(map(str, steps))}); a reviewer of one of those levels approves."
        )
    return steps, steps.index(level)


def _awaits(state: ReviewState, steps: list[int], i: int) -> bool:
    """True when the return waits for the approval of rung i."""
    if i == 0:
        return state.status == ReturnStatus.SUBMITTED
    return state.status == ReturnStatus.APPROVED and state.approved_level == steps[i - 1]


def _done_at(state: ReviewState, steps: list[int], i: int) -> bool:
    """True when rung i (or one above it) has approved the return already."""
    return (
        state.status in (ReturnStatus.APPROVED, ReturnStatus.LOCKED)
        and state.approved_level in steps[i:]
    )


def _why_not(state: ReviewState, steps: list[int], i: int) -> str:
    if state.status == ReturnStatus.INVALID:
        return "it is invalid: it needs a new revision that passes the checks"
    if state.status == ReturnStatus.RETURNED:
        return "it was sent back: it needs a new revision"
    if state.status == ReturnStatus.LOCKED:
        return "it is locked"
    return f"it waits for the approval at level {steps[i - 1]} first"


@dataclass
class _Target:
    state: ReviewState
    school: str
    unit_path: str


def _target(
    uow: UnitOfWork, user: Principal, form: str, year: int, school: str, revision: int | None
) -> _Target:
    session = uow.session
    found, unit = school_in_area(session, user, school)
    school_id: int = found.id  # type: ignore[assignment]  # a stored school has an id
    state = review_states(session, form, year, [school_id]).get(school_id)
    if state is None:
        raise NotFound(f"School {school} has no {form} return for {year}.")
    if revision is not None and revision != state.revision:
        raise Conflict(
            f"The return changed since you read it: revision {state.revision} is current, "
            f"you reviewed revision {revision}. Read it again.",
            [{"code": "STALE_REVISION", "path": "revision", "message": str(state.revision)}],
        )
    return _Target(state, school, unit.path)


def _public(uow: UnitOfWork, form: str, year: int, t: _Target) -> ReturnPublic:
    key = (form, year, t.state.school_id)
    note_changes(
        uow.session, [Change("return", f"{form}/{year}/{t.school}", "upsert", t.unit_path)]
    )
    uow.session.flush()
    return returns_public(uow.session, [key])[key]


def _to_returned(
    uow: UnitOfWork, user: Principal, form: str, year: int, t: _Target, comment: str
) -> ReturnPublic:
    change_status(
        uow.session, t.state.id, ReturnStatus.RETURNED, by=user.user_id, at=uow.now, comment=comment
    )
    return _public(uow, form, year, t)


def approve_return(
    uow: UnitOfWork,
    user: Principal,
    form: str,
    year: int,
    school: str,
    *,
    revision: int | None,
    comment: str | None,
) -> ReturnPublic:
    """Approve a return at the caller's rung (it must await that rung)."""
    t = _target(uow, user, form, year, school, revision)
    steps, i = _rung(uow.session, user)
    if _done_at(t.state, steps, i):
        raise Conflict(
            f"The return of {school} is already approved at level {t.state.approved_level}."
        )
    if not _awaits(t.state, steps, i):
        raise Conflict(
            f"The return of {school} cannot be approved at level {steps[i]}: "
            f"{_why_not(t.state, steps, i)}.",
            [{"code": "NOT_AWAITING_APPROVAL", "path": "status", "message": t.state.status}],
        )
    change_status(
        uow.session,
        t.state.id,
        ReturnStatus.APPROVED,
        by=user.user_id,
        at=uow.now,
        comment=comment,
        approved_level=steps[i],
    )
    return _public(uow, form, year, t)


def send_back(
    uow: UnitOfWork,
    user: Principal,
    form: str,
    year: int,
    school: str,
    *,
    revision: int | None,
    comment: str,
) -> ReturnPublic:
    """Send a return back to its district with a comment (status `returned`)."""
    t = _target(uow, user, form, year, school, revision)
    steps, i = _rung(uow.session, user)
    if t.state.status in (ReturnStatus.RETURNED, ReturnStatus.LOCKED):
        raise Conflict(f"The return of {school} is {t.state.status}; it cannot be sent back.")
    if t.state.status == ReturnStatus.APPROVED and t.state.approved_level in steps[i + 1 :]:
        raise Forbidden(
            f"The return of {school} was approved at level {t.state.approved_level}, above "
            "yours; a reviewer of that level can send it back."
        )
    return _to_returned(uow, user, form, year, t, comment)


def reopen(
    uow: UnitOfWork, user: Principal, form: str, year: int, school: str, *, comment: str
) -> ReturnPublic:
    """An administrator reopens an approved or locked return: it becomes `returned` (the
    comment says why), so its next revision climbs the ladder again."""
    t = _target(uow, user, form, year, school, None)
    if t.state.status not in (ReturnStatus.APPROVED, ReturnStatus.LOCKED):
        raise Conflict(
            f"The return of {school} is {t.state.status}: only approved or locked returns are "
            "reopened (the clerk can send a new revision now)."
        )
    return _to_returned(uow, user, form, year, t, comment)


def excuse(
    uow: UnitOfWork, user: Principal, form: str, year: int, school: str, *, reason: str
) -> None:
    """Excuse a school from this form and year (it counts as done for a unit's approval)."""
    session = uow.session
    get_year(session, year)
    found, _unit = school_in_area(session, user, school)
    if review_states(session, form, year, [found.id]):  # type: ignore[list-item]
        raise Conflict(f"School {school} has a {form} return for {year}; review it instead.")
    row = session.scalar(
        select(ReturnExcuse).where(
            col(ReturnExcuse.form_code) == form,
            col(ReturnExcuse.year) == year,
            col(ReturnExcuse.school_id) == found.id,
        )
    )
    if row is None:
        session.add(
            ReturnExcuse(
                form_code=form,
                year=year,
                school_id=found.id,  # type: ignore[arg-type]
                reason=reason,
                user_id=user.user_id,
                at=uow.now,
            )
        )
    else:
        row.reason, row.user_id, row.at = reason, user.user_id, uow.now
    session.flush()
    note_audit(session, "review.excuse", f"{form}/{year}/{school}", reason_length=len(reason))


def unexcuse(uow: UnitOfWork, user: Principal, form: str, year: int, school: str) -> None:
    """Withdraw an excuse."""
    session = uow.session
    found, _unit = school_in_area(session, user, school)
    done = session.execute(
        delete(ReturnExcuse).where(
            col(ReturnExcuse.form_code) == form,
            col(ReturnExcuse.year) == year,
            col(ReturnExcuse.school_id) == found.id,
        )
    )
    if not done.rowcount:  # type: ignore[attr-defined]
        raise NotFound(f"School {school} is not excused from {form} {year}.")
    note_audit(session, "review.unexcuse", f"{form}/{year}/{school}")


def excused_schools(session: Session, form: str, year: int, school_ids: list[int]) -> set[int]:
    """Which of these schools are excused from this form and year."""
    out: set[int] = set()
    for i in range(0, len(school_ids), 1000):
        out |= {
            int(s)
            for s in session.scalars(
                select(col(ReturnExcuse.school_id)).where(
                    col(ReturnExcuse.form_code) == form,
                    col(ReturnExcuse.year) == year,
                    col(ReturnExcuse.school_id).in_(school_ids[i : i + 1000]),
                )
            )
        }
    return out


@dataclass
class UnitApproval:
    unit: str
    level: int
    approved: int
    already: int
    excused: int


def approve_unit(
    uow: UnitOfWork,
    user: Principal,
    unit: str,
    form: str,
    year: int,
    *,
    comment: str | None,
) -> UnitApproval:
    """Approve at the caller's rung every return of a unit's open schools that awaits it; refuse
    (nothing changes) while any school has an invalid, returned or unapproved-below return, or
    neither a return nor an excuse, and name them."""
    session = uow.session
    get_year(session, year)
    path = area_path(session, user, unit)
    steps, i = _rung(session, user)
    schools = open_schools_under(session, path)
    ids = [sid for sid, _, _ in schools]
    states = review_states(session, form, year, ids)
    excused = excused_schools(session, form, year, ids)
    problems: list[dict[str, str]] = []
    ready: list[tuple[ReviewState, str]] = []
    already = 0
    for sid, code, _path in schools:
        state = states.get(sid)
        if state is None:
            if sid not in excused:
                problems.append(
                    {"code": "NO_RETURN", "path": code, "message": "no return and no excuse"}
                )
            continue
        if _done_at(state, steps, i):
            already += 1
        elif _awaits(state, steps, i):
            ready.append((state, code))
        else:
            problems.append(
                {
                    "code": f"RETURN_{state.status.upper()}",
                    "path": code,
                    "message": _why_not(state, steps, i),
                }
            )
    if problems:
        invalid = [p["path"] for p in problems if p["code"] == "RETURN_INVALID"]
        head = (
            f"{len(invalid)} return(s) of {unit} are invalid ({', '.join(invalid[:10])})"
            if invalid
            else f"{len(problems)} school(s) of {unit} are not ready"
        )
        raise Conflict(
            f"{head}; nothing was approved. Fix, review or excuse them first.", problems[:500]
        )
    for state, _code in ready:
        change_status(
            session,
            state.id,
            ReturnStatus.APPROVED,
            by=user.user_id,
            at=uow.now,
            comment=comment,
            approved_level=steps[i],
        )
    unit_paths = {code: p for _sid, code, p in schools}
    note_changes(
        session,
        [
            Change("return", f"{form}/{year}/{code}", "upsert", unit_paths[code])
            for _s, code in ready
        ],
    )
    note_audit(session, "review.approve_unit", unit, form=form, year=year, approved=len(ready))
    return UnitApproval(unit, steps[i], len(ready), already, len(excused))
