"""Engine and sessions for SQLite (embedded default) and PostgreSQL (production)."""

import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    Engine,
    MetaData,
    Table,
    and_,
    create_engine,
    event,
    false,
    or_,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import SQLModel

# Constraint names must be deterministic so one Alembic tree serves both databases.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata: MetaData = SQLModel.metadata


SQLITE_SYNCHRONOUS = ("FULL", "EXTRA", "NORMAL")


def _sqlite_pragmas(synchronous: str) -> Any:
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        # FULL: in WAL mode every commit is synced to disk before it returns, so a revision
        # acknowledged as applied survives a power cut (NORMAL may lose the last commits).
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    return on_connect


# SQLite has one writer. Writers of this process take turns on a lock of their own before
# BEGIN IMMEDIATE and hold it until their connection goes back to the pool (after the commit
# or the rollback), so the next one starts the moment the last one ends. Left to SQLite's busy
# handler, a waiting writer polls, sleeping 1, 2, 5, 10, 15, 20, then 25 ms and more between
# tries: the lock often stood free while the next writer slept, and the longer the
# transactions, the longer the sleeps. Writers of other processes (a second worker, the CLI)
# still queue on the busy handler; so does a writer that waited WRITER_WAIT seconds for its
# turn (it never waits forever for a turn that was not given back).
_WRITER_TURN = "emis_writer_turn"
WRITER_WAIT = 30.0


def _sqlite_writers(engine: Engine) -> None:
    turn = threading.Lock()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        # A deferred transaction that reads and then writes can fail at once with "database
        # is locked" when another writer got in between; writers begin IMMEDIATE, in turn.
        if not conn.get_execution_options().get("sqlite_write"):
            conn.exec_driver_sql("BEGIN")
            return
        info = conn.info  # the pooled connection's: given back when it returns to the pool
        if _WRITER_TURN not in info and turn.acquire(timeout=WRITER_WAIT):
            info[_WRITER_TURN] = True
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    def give_back(_dbapi_conn: Any, record: Any, *_args: Any) -> None:
        if record is not None and record.info.pop(_WRITER_TURN, None):
            turn.release()

    for name in ("checkin", "invalidate", "close", "detach"):
        event.listen(engine.pool, name, give_back)


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def make_engine(
    url: str,
    pool_size: int = 10,
    *,
    pool_timeout: float = 10.0,
    sqlite_synchronous: str = "FULL",
) -> Engine:
    """Build an engine with the right settings for the database kind.

    `pool_size` connections at most (PostgreSQL): the app admits no more requests at once than
    that, so a request never waits for a connection; `pool_timeout` is the safety net, and
    running out is a 503, not a 500."""
    if sqlite_synchronous.upper() not in SQLITE_SYNCHRONOUS:
        raise ValueError(f"sqlite synchronous must be one of {SQLITE_SYNCHRONOUS}")
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_timeout=pool_timeout,
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,
        )
        event.listen(engine, "connect", _sqlite_pragmas(sqlite_synchronous.upper()))

        @event.listens_for(engine, "connect")
        def _no_pysqlite_tx(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None

        _sqlite_writers(engine)
        watch_writes(engine)
        return engine
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=pool_timeout,
        # No ping before each checkout (a round trip per request): a connection the database
        # dropped fails its request with a 503 (retried by clients) and the pool starts anew.
        pool_pre_ping=False,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
    )
    watch_writes(engine)
    return engine


# ---------------------------------------------------------------- writes that were never committed

_WRITES = ("INSERT", "UPDATE", "DELETE", "WITH")
lost_writes: list[str] = []  # statements rolled back without a commit (tests assert it is empty)


def watch_writes(engine: Engine) -> None:
    """Note every connection that wrote; a rollback of writes that nobody asked for is a use
    case that forgot to commit (its work would silently vanish), kept in `lost_writes`."""

    @event.listens_for(engine, "before_cursor_execute")
    def _wrote(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip()[:6].upper().startswith(_WRITES) and "wrote" not in conn.info:
            conn.info["wrote"] = statement.strip().split("\n")[0][:120]

    @event.listens_for(engine, "commit")
    def _committed(conn: Any) -> None:
        conn.info.pop("wrote", None)
        conn.info.pop("rollback_expected", None)

    @event.listens_for(engine, "rollback")
    def _rolled_back(conn: Any) -> None:
        wrote = conn.info.pop("wrote", None)
        if wrote and not conn.info.pop("rollback_expected", False):
            lost_writes.append(wrote)
        conn.info.pop("rollback_expected", None)


def expect_rollback(session: Session) -> None:
    """Say that this session's writes are being undone on purpose (an error, a dry run)."""
    if session.in_transaction():
        session.connection().info["rollback_expected"] = True


def rows_by_ids(
    session: Session, table: Table, columns: Sequence[str], key: str, ids: Sequence[int]
) -> list[Sequence[Any]]:
    """The rows of `SELECT columns FROM table WHERE key IN ids`, in one statement whose text is
    the same whatever the ids (sent as one value: a JSON array for SQLite, an array for
    PostgreSQL), so nothing is built or compiled per call: an ORM select with `IN` cost 4× the
    reading itself (measured: 50 schools in 0.74 ms against 0.17 ms). SQLite gives the rows as
    one JSON array, one step of the engine instead of one per row: each step lets go of the GIL,
    and under load the writer that holds SQLite's one write lock then waits to get it back, once
    per row, while every other writer waits for the lock. For columns of numbers, text and JSON
    only (a JSON column comes back decoded; a date would come back as text)."""
    if not ids:
        return []
    sql = _rows_by_ids_sql(session.get_bind().dialect.name, table, tuple(columns), key)
    return rows_of(session, sql, ids=ids)


def all_rows(session: Session, table: Table, columns: Sequence[str]) -> list[Sequence[Any]]:
    """Every row of a small table (its columns), in no set order, the way rows_by_ids reads."""
    return rows_of(
        session, _rows_by_ids_sql(session.get_bind().dialect.name, table, tuple(columns), None)
    )


def rows_of(session: Session, sql: Any, **lists: Sequence[Any]) -> list[Sequence[Any]]:
    """Run a statement of constant text whose parameters are lists: PostgreSQL takes them as
    arrays (`= ANY(:name)`) and gives rows; SQLite takes them as JSON arrays (`IN (SELECT value
    FROM json_each(:name))`) and gives its rows as one JSON array, built by
    `sqlite_json_rows` (see rows_by_ids)."""
    if session.get_bind().dialect.name != "sqlite":
        return list(session.execute(sql, {k: list(v) for k, v in lists.items()}))
    found = session.scalar(sql, {k: orjson.dumps(list(v)).decode() for k, v in lists.items()})
    return orjson.loads(found) if found else []


def sqlite_json_rows(table: Table, columns: Sequence[str]) -> str:
    """SQLite: the select list that gives these columns of every row as one JSON array of
    arrays (JSON columns as JSON, not as text)."""
    parts = ", ".join(f"json({c})" if isinstance(table.c[c].type, JSON) else c for c in columns)
    return f"json_group_array(json_array({parts}))"


@lru_cache(maxsize=64)
def _rows_by_ids_sql(dialect: str, table: Table, columns: tuple[str, ...], key: str | None) -> Any:
    if dialect != "sqlite":
        where = f" WHERE {key} = ANY(:ids)" if key else ""
        return text(f"SELECT {', '.join(columns)} FROM {table.name}{where}")
    where = f" WHERE {key} IN (SELECT value FROM json_each(:ids))" if key else ""
    return text(f"SELECT {sqlite_json_rows(table, columns)} FROM {table.name}{where}")


def table_of(model: type[SQLModel]) -> Table:
    """The Core table behind a table model, for bulk statements with bound parameters."""
    # SQLModel sets __table__ at class creation but does not declare it for type checkers.
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


def make_sessionmaker(engine: Engine, write: bool = True) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (results are built after it).

    Write sessions take SQLite's write lock when they begin; read sessions never block writers."""
    bind = engine.execution_options(sqlite_write=True) if write else engine
    return sessionmaker(bind=bind, expire_on_commit=False, autoflush=False)


def is_sqlite(engine_or_session: Engine | Session) -> bool:
    """True when the bound database is SQLite."""
    bind = (
        engine_or_session.get_bind()
        if isinstance(engine_or_session, Session)
        else engine_or_session
    )
    return bind.dialect.name == "sqlite"


def database_of(session: Session) -> str:
    """Which database a session talks to, password hidden: part of the key of every per-process
    cache of data read from it (one process may open many: the CLI's copy, every test's)."""
    return str(session.get_bind().engine.url)


def keys_in(columns: Sequence[Any], keys: Sequence[Sequence[Any]]) -> ColumnElement[bool]:
    """`(c1, c2, …) IN (keys)` written as `(c1 = ? AND c2 = ? …) OR …`: SQLite (3.40 here)
    plans a row-value IN list as a scan of the whole table, checking each row against the list,
    while each OR term is a search of the index that leads with these columns (PostgreSQL plans
    the two forms alike). Keep the keys to a few hundred a statement."""
    if not keys:
        return false()
    return or_(*(and_(*(c == v for c, v in zip(columns, k, strict=True))) for k in keys))
