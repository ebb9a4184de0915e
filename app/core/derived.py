"""Derived data kept current in the same transaction as the writes it follows.

Services mark what they changed (`mark(session, "return", ids)`); the features that keep
derived figures (the indicator totals) register a keeper, and the unit of work runs every
keeper just before it commits, in the same transaction. A keeper that is not loaded while
something was marked is a bug that would let the figures drift: the commit refuses."""

import os
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.core.changelog import ServerMeta

Dirty = dict[str, set[int]]
Keeper = Callable[[Session, Dirty], None]

keepers: list[Keeper] = []
_DIRTY = "dirty_for_keepers"
# A keeper's work on a revision about to be stored can be done before the write transaction,
# while the single writer's lock is not held (SQLite has one writer: every millisecond of Python
# inside its lock is a millisecond no other push can write). The push runs the preparers on
# its batch, with the read session; the keeper, inside the transaction, uses what they made of
# a revision's values only after checking that it still holds (the same school levels, the
# same education structure), and does the work itself otherwise.
# (form, form version, values about to be stored, school id, what the check engine read of
# those values: CheckResult.cells, or None)
Item = tuple[str, int, Any, int, Any]
Preparer = Callable[[Session, list[Item]], list[Any]]
preparers: list[Preparer] = []
_PREPARED = "prepared_for_keepers"
# Benchmarks only (`bench/ingest.py --no-keep` measures what keeping costs a push): with it the
# derived figures stop following the returns until `emis indicators rebuild`.
NO_KEEPERS = os.environ.get("EMIS_BENCH_NO_KEEPERS") == "1"
REFERENCE_VERSION = "reference_version"


class KeeperMissing(RuntimeError):
    """Something derived figures depend on changed, and no keeper is loaded to follow it."""


def register(keeper: Keeper) -> Keeper:
    if keeper not in keepers:
        keepers.append(keeper)
    return keeper


def register_preparer(preparer: Preparer) -> Preparer:
    if preparer not in preparers:
        preparers.append(preparer)
    return preparer


def prepare(session: Session, items: list[Item]) -> list[tuple[Any, ...] | None]:
    """What the preparers make of each item (one result per preparer), before the write
    transaction; None for every item when no keeper runs."""
    if NO_KEEPERS or not preparers or not items:
        return [None] * len(items)
    made = [p(session, items) for p in preparers]
    return [tuple(m[i] for m in made) for i in range(len(items))]


def hand_over(session: Session, values: Any, prepared: tuple[Any, ...] | None) -> None:
    """Give the write session what was prepared from `values` (the very object it will store)."""
    if prepared is not None:
        session.info.setdefault(_PREPARED, {})[id(values)] = (values, prepared)


def prepared(session: Session, preparer: Preparer, values: Any) -> Any:
    """What `preparer` made of these values before the transaction, or None."""
    hit = session.info.get(_PREPARED, {}).get(id(values))
    if hit is None or hit[0] is not values:  # the same object, not one that reused its id
        return None
    try:
        return hit[1][preparers.index(preparer)]
    except (ValueError, IndexError):
        return None


def mark(session: Session, kind: str, ids: Iterable[int]) -> None:
    """Note that these rows (`return` ids, `school` ids) changed in this transaction."""
    session.info.setdefault(_DIRTY, {}).setdefault(kind, set()).update(ids)


def forget(session: Session) -> None:
    """Drop the marks (the transaction rolled back)."""
    session.info.pop(_DIRTY, None)


def run_keepers(session: Session) -> None:
    """Bring every derived figure up to date with what was marked (called before the commit)."""
    dirty: Dirty | None = session.info.pop(_DIRTY, None)
    if not dirty or not any(dirty.values()) or NO_KEEPERS:
        return
    if not keepers:
        raise KeeperMissing(
            "returns or schools changed but no keeper of derived figures is loaded "
            "(import app.indicators before writing)"
        )
    for keeper in keepers:
        keeper(session, dirty)


def bump_reference_version(session: Session) -> None:
    """Reference data that figures depend on (population, education structure) changed."""
    row = session.get(ServerMeta, REFERENCE_VERSION)
    if row is None:
        session.add(ServerMeta(key=REFERENCE_VERSION, value="1"))
    else:
        row.value = str(int(row.value) + 1)
    session.flush()


def reference_version(session: Session) -> str:
    return (
        session.scalar(
            select(col(ServerMeta.value)).where(col(ServerMeta.key) == REFERENCE_VERSION)
        )
        or "0"
    )
