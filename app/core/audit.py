"""The audit trail: who did what, when, from which device and address.

Every write and every sign-in (success or failure) adds an event to its unit of work
(`note_audit`); the unit of work stores the events in the same transaction as the change, so
the trail never shows work that did not happen and never misses work that did. Events marked
`lasting` (a failed sign-in) are stored even when the use case fails: the failure is the event.

Events say what changed (ids and the names of changed fields), never whole payloads: the trail
must not become a second copy of the census or of anyone's password."""

import getpass
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, Integer, String, func, insert, select
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel, col

from app.core.types import BigIntPK, JsonType, UTCDateTime, utcnow


class AuditRecord(SQLModel, table=True):
    """One audit event (rows are only ever appended)."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_at", "at"),
        Index("ix_audit_event_action_target", "action", "target", "at"),
        Index("ix_audit_event_action_address", "action", "address", "at"),
        Index("ix_audit_event_username", "username", "at"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigIntPK, primary_key=True))
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # The user's id and name as they were (the name stays readable if the user is removed).
    user_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    username: str = Field(default="", sa_column=Column(String(64), nullable=False))
    token_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    device: str = Field(default="", sa_column=Column(String(100), nullable=False))
    address: str = Field(default="", sa_column=Column(String(64), nullable=False))
    action: str = Field(sa_column=Column(String(40), nullable=False))
    target: str = Field(default="", sa_column=Column(String(200), nullable=False))
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JsonType))


@dataclass
class Origin:
    """Where a use case came from: the network address and device (empty for the CLI)."""

    address: str = ""
    device: str = ""
    via: str = "api"  # api | cli | demo

    def operator(self) -> str:
        """Who acted when no user signed in: the system account running a command."""
        if self.via == "api":
            return ""
        try:
            return f"{self.via}:{getpass.getuser()}"
        except Exception:  # no login name in some containers
            return self.via


@dataclass(frozen=True)
class AuditEvent:
    """Something a person did that the trail keeps; who is the unit of work's actor, unless
    the event names the user itself (a sign-in before anyone is known)."""

    action: str
    target: str
    detail: dict[str, Any] = field(default_factory=dict)
    at: datetime = field(default_factory=utcnow)
    lasting: bool = False
    username: str | None = None
    user_id: int | None = None


def note_audit(
    session: Session,
    action: str,
    target: str,
    *,
    lasting: bool = False,
    username: str | None = None,
    user_id: int | None = None,
    **detail: Any,
) -> None:
    """Add an audit event to the session's unit of work (services call this; they know the
    session, not the unit of work)."""
    events: list[AuditEvent] | None = session.info.get("audit_events")
    if events is None:
        raise RuntimeError("this session belongs to no unit of work; its writes cannot be audited")
    events.append(
        AuditEvent(
            action, target[:200], detail, lasting=lasting, username=username, user_id=user_id
        )
    )


def write_audit(
    session: Session,
    events: Sequence[AuditEvent],
    *,
    origin: Origin,
    user_id: int | None,
    username: str,
    token_id: int | None,
) -> None:
    """Store events in the session's transaction (the unit of work calls this at its commit)."""
    if not events:
        return
    session.execute(
        insert(AuditRecord),
        [
            {
                "at": e.at,
                "user_id": e.user_id if e.username is not None else user_id,
                "username": (e.username if e.username is not None else username)[:64],
                "token_id": None if e.username is not None else token_id,
                "device": origin.device[:100],
                "address": origin.address[:64],
                "action": e.action,
                "target": e.target,
                "detail": e.detail,
            }
            for e in events
        ],
    )


def count_events(
    session: Session,
    action: str,
    *,
    since: datetime,
    target: str | None = None,
    address: str | None = None,
) -> tuple[int, datetime | None]:
    """How many events of one kind happened since a time (for one target or address), and the
    time of the last one (the sign-in limiter counts failures with it)."""
    q = select(func.count(), func.max(col(AuditRecord.at))).where(
        col(AuditRecord.action) == action, col(AuditRecord.at) > since
    )
    if target is not None:
        q = q.where(col(AuditRecord.target) == target)
    if address is not None:
        q = q.where(col(AuditRecord.address) == address)
    n, last = session.execute(q).one()
    return int(n), _aware(last)


def last_event_id(session: Session) -> int:
    """The newest audit event's id: every write is audited, so this moves with any change (an
    excuse, a school year's window) that the figures' own versions do not follow."""
    return int(session.scalar(select(func.max(col(AuditRecord.id)))) or 0)


def last_event_at(session: Session, action: str, target: str) -> datetime | None:
    """When an event of this kind last happened for this target."""
    return _aware(
        session.scalar(
            select(func.max(col(AuditRecord.at))).where(
                col(AuditRecord.action) == action, col(AuditRecord.target) == target
            )
        )
    )


def _aware(value: Any) -> datetime | None:
    """max() of a time column, aware in UTC on both databases."""
    if value is None:
        return None
    if isinstance(value, str):  # SQLite hands back the stored text
        value = datetime.fromisoformat(value)
    return UTCDateTime().process_result_value(value, None)


@dataclass(frozen=True)
class AuditFilter:
    """What `GET /api/v1/audit` and `emis audit` may ask for."""

    username: str | None = None
    action: str | None = None  # exact, or a prefix ending in "." ("login." for every sign-in)
    target: str | None = None  # exact, or a prefix ending in "/" or "*"
    since: datetime | None = None
    until: datetime | None = None


def list_events(
    session: Session, flt: AuditFilter, *, before_id: int | None, limit: int
) -> list[AuditRecord]:
    """Events matching the filter, newest first, from before an id (paging)."""
    q = select(AuditRecord)
    if flt.username:
        q = q.where(col(AuditRecord.username) == flt.username)
    if flt.action:
        if flt.action.endswith("."):
            q = q.where(col(AuditRecord.action).startswith(flt.action, autoescape=True))
        else:
            q = q.where(col(AuditRecord.action) == flt.action)
    if flt.target:
        if flt.target.endswith("*"):
            q = q.where(col(AuditRecord.target).startswith(flt.target[:-1], autoescape=True))
        else:
            q = q.where(col(AuditRecord.target) == flt.target)
    if flt.since:
        q = q.where(col(AuditRecord.at) >= flt.since)
    if flt.until:
        q = q.where(col(AuditRecord.at) < flt.until)
    if before_id is not None:
        q = q.where(col(AuditRecord.id) < before_id)
    q = q.order_by(col(AuditRecord.id).desc()).limit(limit)
    return list(session.scalars(q))
