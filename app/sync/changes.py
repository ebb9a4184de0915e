"""Recording changes in the pull sequence. Every write that devices must learn of calls this."""

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlmodel import col

from app.sync.models import SyncChange, SyncCounter

COUNTER = "changes"


@dataclass(frozen=True)
class Change:
    """One entity that changed: its type, key, upsert/delete, and the area path it belongs to."""

    entity_type: str
    entity_key: str
    op: str = "upsert"
    unit_path: str | None = None


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


def record_changes(session: Session, changes: Iterable[Change]) -> int:
    """Put changed entities at the end of the sequence (last write wins per entity).

    Call it as late as possible in a transaction: it holds the counter lock until commit.
    Returns how many were recorded."""
    latest: dict[tuple[str, str], Change] = {}
    for c in changes:
        latest[(c.entity_type, c.entity_key)] = c
    if not latest:
        return 0
    first = _take_sequence(session, len(latest))
    rows = [
        {
            "entity_type": c.entity_type,
            "entity_key": c.entity_key,
            "seq": first + i,
            "op": c.op,
            "unit_path": c.unit_path,
        }
        for i, c in enumerate(latest.values())
    ]
    dialect = session.get_bind().dialect.name
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(SyncChange)
    stmt = ins.on_conflict_do_update(
        index_elements=["entity_type", "entity_key"],
        set_={"seq": ins.excluded.seq, "op": ins.excluded.op, "unit_path": ins.excluded.unit_path},
    )
    # Sequence numbers are unique; rows moved forward must not collide mid-statement, so
    # insert one row at a time in sequence order (executemany keeps it one round trip).
    session.execute(stmt, rows)
    return len(rows)


def last_sequence(session: Session) -> int:
    """The newest sequence number handed out (0 before any change)."""
    return int(
        session.scalar(select(col(SyncCounter.value)).where(col(SyncCounter.name) == COUNTER)) or 0
    )
