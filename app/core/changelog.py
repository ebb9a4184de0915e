"""The change log devices pull from: an append-only sequence of what changed, and where.

Every write that devices must learn of adds a `Change` to its unit of work (`note_changes`); the
unit of work writes them last, just before it commits, under the counter row's lock, so sequence
numbers become visible in commit order and a pull cursor never skips a late commit.

Each row keeps the area (`unit_path`) its entity belonged to when the row was written. When an
entity leaves an area (a unit or a school moves), the mover appends a `delete` row under the old
area and an `upsert` row under the new one, so the devices of both learn of it. A school's row
may say `with_dependents`: its returns moved with it (the pull brings them along, so the
registry need not know about returns). Pull checks every `upsert` against the entity's current
area, so an old row never hands data to an area the entity has left.

The log is bounded by compaction up to a horizon: rows at or before it that a later row makes
useless are removed, and cursors older than the horizon are answered 410."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import orjson
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    String,
    and_,
    bindparam,
    delete,
    exists,
    false,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session, aliased
from sqlmodel import Field, SQLModel, col

from app.core.audit import note_audit
from app.core.db import table_of
from app.core.types import PathType, UTCDateTime, utcnow

COUNTER = "changes"
HORIZON_KEY = "change_horizon"


class SyncCounter(SQLModel, table=True):
    """A single-row counter; taking the next value locks the row until commit, so sequence
    numbers become visible in commit order and a cursor never skips a late commit."""

    __tablename__ = "sync_counter"

    name: str = Field(primary_key=True, max_length=32)
    value: int = Field(sa_column=Column(BigInteger, nullable=False))


class SyncChange(SQLModel, table=True):
    """One change of one entity in one area; rows are only ever appended (and compacted)."""

    __tablename__ = "sync_change"
    __table_args__ = (
        Index("ix_sync_change_seq", "seq", unique=True),
        Index("ix_sync_change_entity", "entity_type", "entity_key", "seq"),
    )

    id: int | None = Field(default=None, primary_key=True)
    entity_type: str = Field(max_length=16)
    entity_key: str = Field(max_length=200)
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    op: str = Field(max_length=8)
    # Path of the admin unit the entity belonged to (None: visible to everyone).
    unit_path: str | None = Field(default=None, sa_column=Column(PathType, nullable=True))
    # A school's row that stands for its returns too (they moved with it).
    with_dependents: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    recorded_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )


class ServerMeta(SQLModel, table=True):
    """Small key/value facts about this database (its epoch for pull cursors, the horizon)."""

    __tablename__ = "server_meta"

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(sa_column=Column(String(200), nullable=False))


@dataclass(frozen=True)
class Change:
    """One entity that changed: its type, key, upsert/delete, and the area path it belongs to."""

    entity_type: str
    entity_key: str
    op: str = "upsert"
    unit_path: str | None = None
    with_dependents: bool = False


def note_changes(session: Session, changes: Iterable[Change]) -> None:
    """Add changes to the unit of work this session belongs to; they are written at its
    commit. A session outside a unit of work cannot record changes (it could not commit)."""
    pending = session.info.get("pending_changes")
    if pending is None:
        raise RuntimeError("changes can only be noted inside a unit of work")
    pending.extend(changes)


def _take_sequence(session: Session, count: int) -> int:
    """Reserve `count` sequence numbers and return the first. The UPDATE locks the counter row
    until commit, so writers publish their numbers in commit order (pull never skips one)."""
    new_value = session.execute(
        update(SyncCounter)
        .where(col(SyncCounter.name) == COUNTER)
        .values(value=SyncCounter.value + count)
        .returning(col(SyncCounter.value))
    ).scalar_one()
    return int(new_value) - count + 1


def write_changes(session: Session, changes: Iterable[Change]) -> int:
    """Append changes at the end of the sequence; called by the unit of work, last.

    Within one transaction a change of the same entity in the same area replaces the earlier
    one and moves to the end (so a move's delete and upsert keep their order). Returns how many
    rows were written."""
    latest: dict[tuple[str, str, str | None], Change] = {}
    for c in changes:
        key = (c.entity_type, c.entity_key, c.unit_path)
        before = latest.pop(key, None)
        if before is not None and before.with_dependents and not c.with_dependents:
            c = Change(c.entity_type, c.entity_key, c.op, c.unit_path, True)
        latest[key] = c
    if not latest:
        return 0
    now = utcnow()
    rows = [
        {
            "entity_type": c.entity_type,
            "entity_key": c.entity_key,
            "op": c.op,
            "unit_path": c.unit_path,
            "with_dependents": c.with_dependents,
        }
        for c in latest.values()
    ]
    if session.get_bind().dialect.name == "postgresql":
        # One round trip: the counter's UPDATE (its row lock held to the commit) and the rows.
        numbered = orjson.dumps([{"i": i, **r} for i, r in enumerate(rows)]).decode()
        done = session.execute(
            _APPEND_PG, {"n": len(rows), "name": COUNTER, "rows": numbered, "at": now}
        )
        if cast(CursorResult[Any], done).rowcount != len(rows):
            raise RuntimeError(f"the change counter row {COUNTER!r} is missing")
    else:
        first = _take_sequence(session, len(rows))
        session.execute(
            table_of(SyncChange).insert(),
            [{**r, "seq": first + i, "recorded_at": now} for i, r in enumerate(rows)],
        )
    return len(rows)


_APPEND_PG = text(
    "WITH c AS (UPDATE sync_counter SET value = value + :n WHERE name = :name RETURNING value) "
    "INSERT INTO sync_change (entity_type, entity_key, seq, op, unit_path, with_dependents, "
    "recorded_at) SELECT r.entity_type, r.entity_key, c.value - :n + 1 + r.i, r.op, r.unit_path, "
    "r.with_dependents, :at FROM c, json_to_recordset(CAST(:rows AS json)) AS r(i int, "
    "entity_type text, entity_key text, op text, unit_path text, with_dependents boolean) "
    "ORDER BY r.i"
).bindparams(bindparam("at", type_=UTCDateTime()))


def last_sequence(session: Session) -> int:
    """The newest sequence number handed out (0 before any change)."""
    return int(
        session.scalar(select(col(SyncCounter.value)).where(col(SyncCounter.name) == COUNTER)) or 0
    )


def horizon(session: Session) -> int:
    """The sequence number up to which the log was compacted (0: never)."""
    value = session.scalar(select(col(ServerMeta.value)).where(col(ServerMeta.key) == HORIZON_KEY))
    return int(value) if value else 0


def compact(session: Session, up_to: int) -> int:
    """Remove rows at or before `up_to` that no fresh pull needs, and move the horizon there
    (cursors older than it get 410). A row goes when a later row of the same entity replaces it
    (a row that carries dependents is replaced only by a later one that does too), or when it
    is a delete of something that no longer exists. Returns how many rows were removed."""
    up_to = min(up_to, last_sequence(session))
    if up_to <= horizon(session):
        return 0
    later = aliased(SyncChange)
    same_entity = and_(
        col(later.entity_type) == SyncChange.entity_type,
        col(later.entity_key) == SyncChange.entity_key,
        col(later.seq) > SyncChange.seq,
    )
    replaced = exists().where(
        same_entity,
        or_(col(SyncChange.with_dependents).is_(False), col(later.with_dependents).is_(True)),
    )
    deleted_for_good = and_(col(SyncChange.op) == "delete", ~exists().where(same_entity))
    removed = session.execute(
        delete(SyncChange).where(col(SyncChange.seq) <= up_to, or_(replaced, deleted_for_good))
    ).rowcount  # type: ignore[attr-defined]
    _set_meta(session, HORIZON_KEY, str(up_to))
    note_audit(session, "changelog.compact", str(up_to), removed=int(removed or 0))
    return int(removed or 0)


def sequence_before(session: Session, moment: datetime) -> int:
    """The last sequence number recorded before `moment` (0 when none)."""
    return int(
        session.scalar(select(func.max(SyncChange.seq)).where(col(SyncChange.recorded_at) < moment))
        or 0
    )


def get_meta(session: Session, key: str) -> str | None:
    """A small fact about this database (None: not set)."""
    return session.scalar(select(col(ServerMeta.value)).where(col(ServerMeta.key) == key))


def set_meta(session: Session, key: str, value: str) -> None:
    """Set a small fact about this database."""
    _set_meta(session, key, value)


def _set_meta(session: Session, key: str, value: str) -> None:
    row = session.get(ServerMeta, key)
    if row is None:
        session.add(ServerMeta(key=key, value=value))
    else:
        row.value = value
    session.flush()


__all__ = [
    "Change",
    "ServerMeta",
    "SyncChange",
    "SyncCounter",
    "compact",
    "horizon",
    "last_sequence",
    "note_changes",
    "sequence_before",
    "write_changes",
]
