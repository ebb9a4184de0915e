"""The local store: one SQLite file (stdlib sqlite3) with the pulled reference data, the outbox of
changes and the pull cursor. Every write is one transaction with synchronous=FULL, so killing the
client at any moment loses nothing that was reported as done."""

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 2

# Each step takes the store from version i to i + 1 (index i); a store upgrades itself on open.
_MIGRATIONS: list[str] = [
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE ref (
        type TEXT NOT NULL,
        key TEXT NOT NULL,
        data TEXT NOT NULL,
        gen INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (type, key)
    );
    CREATE TABLE change (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        push_id TEXT NOT NULL UNIQUE,
        form TEXT NOT NULL,
        form_version INTEGER NOT NULL,
        year INTEGER NOT NULL,
        school TEXT NOT NULL,
        base_revision INTEGER NOT NULL,
        body TEXT NOT NULL,
        source TEXT NOT NULL,
        created_at TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'queued',
        sent INTEGER NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        result TEXT,
        done_at TEXT
    );
    CREATE INDEX ix_change_return ON change (form, year, school, seq);
    CREATE INDEX ix_change_state ON change (state, seq);
    """,
    # v2: the offline verdict kept with each change (status, errors, warnings as JSON).
    """
    ALTER TABLE change ADD COLUMN checked TEXT NOT NULL DEFAULT '{}';
    """,
]
assert len(_MIGRATIONS) == SCHEMA_VERSION


class StoreTooNew(RuntimeError):
    """The store was written by a newer client."""


class Store:
    """The SQLite file of one client home."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we open every transaction ourselves (BEGIN IMMEDIATE).
        self.db = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self._upgrade()

    def _upgrade(self) -> None:
        version = int(self.db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise StoreTooNew(
                f"{self.path} has schema version {version}; this client knows {SCHEMA_VERSION}"
            )
        for step in range(version, SCHEMA_VERSION):
            with self.tx() as db:
                for statement in _MIGRATIONS[step].split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {step + 1}")

    @property
    def version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it is stored, or none of it."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()

    # ---------------------------------------------------------------- meta

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else default

    @staticmethod
    def set_meta(db: sqlite3.Connection, key: str, value: str | None) -> None:
        if value is None:
            db.execute("DELETE FROM meta WHERE key = ?", (key,))
        else:
            db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    # ---------------------------------------------------------------- reference data

    def ref(self, type_: str, key: str) -> dict[str, Any] | None:
        row = self.db.execute(
            "SELECT data FROM ref WHERE type = ? AND key = ?", (type_, key)
        ).fetchone()
        return json.loads(row[0]) if row else None

    def refs(self, type_: str) -> list[dict[str, Any]]:
        return [
            json.loads(r[0])
            for r in self.db.execute("SELECT data FROM ref WHERE type = ? ORDER BY key", (type_,))
        ]

    # ---------------------------------------------------------------- outbox

    def changes_of(self, form: str, year: int, school: str) -> list[sqlite3.Row]:
        return list(
            self.db.execute(
                "SELECT * FROM change WHERE form = ? AND year = ? AND school = ? ORDER BY seq",
                (form, year, school),
            )
        )

    def outbox(self) -> list[sqlite3.Row]:
        """Changes not yet acknowledged by the server, oldest first."""
        return list(self.db.execute("SELECT * FROM change WHERE state = 'queued' ORDER BY seq"))

    def count_by_state(self) -> dict[str, int]:
        return {
            str(r[0]): int(r[1])
            for r in self.db.execute("SELECT state, count(*) FROM change GROUP BY state")
        }
