"""SQLite's one writer: writers of a process take turns (core.db), so a writer that waited
starts as soon as the one before it ends, not at the next poll of SQLite's busy handler, and a
turn is given back however the transaction ends (commit, rollback, an error, a dropped
connection)."""

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from app.core.db import expect_rollback, make_engine, make_sessionmaker


@pytest.fixture
def writers(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'turns.db'}", sqlite_synchronous="NORMAL")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT)"))
    yield make_sessionmaker(engine, write=True), engine
    engine.dispose()


def _handover_gap(factory) -> float:  # type: ignore[no-untyped-def]
    """Seconds between one writer's commit and the start of the next, which waited for it."""
    committed: list[float] = []
    began: list[float] = []
    first_in = threading.Event()

    def first() -> None:
        with factory() as s:
            s.execute(text("INSERT INTO t (who) VALUES ('first')"))
            first_in.set()
            time.sleep(0.6)
            s.commit()
            committed.append(time.perf_counter())

    def second() -> None:
        first_in.wait()
        time.sleep(0.1)
        with factory() as s:
            s.execute(text("INSERT INTO t (who) VALUES ('second')"))
            began.append(time.perf_counter())
            s.commit()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return began[0] - committed[0]


def test_a_waiting_writer_starts_when_the_one_before_commits(writers) -> None:  # type: ignore[no-untyped-def]
    """Three times: a writer holds the write lock for 0.6 s; another, which asked 0.1 s in,
    begins within 20 ms of the first's commit (measured: about 1 ms). Through SQLite's busy
    handler alone it begins at its next poll, 100 ms apart by then (measured: 16 to 42 ms
    late, 0 to 100 ms possible: three in a row within 20 ms would be luck)."""
    factory, _ = writers
    gaps = [_handover_gap(factory) for _ in range(3)]
    assert len(gaps) == 3 and all(g < 0.02 for g in gaps), gaps
    with factory() as s:
        assert (
            s.execute(text("SELECT who FROM t ORDER BY id")).scalars().all()
            == [
                "first",
                "second",
            ]
            * 3
        )


def test_a_turn_is_given_back_however_the_transaction_ends(writers) -> None:  # type: ignore[no-untyped-def]
    """After a rollback, an error inside the transaction, a connection dropped from the pool
    and a plain commit, the next writer gets in at once (never waits out WRITER_WAIT)."""
    factory, _ = writers
    with factory() as s:  # rolled back
        s.execute(text("INSERT INTO t (who) VALUES ('undone')"))
        expect_rollback(s)
        s.rollback()
    with pytest.raises(Exception, match="no such table"), factory() as s:  # an error
        s.execute(text("INSERT INTO t (who) VALUES ('x')"))
        expect_rollback(s)
        s.execute(text("INSERT INTO missing VALUES (1)"))
    with factory() as s:  # the connection dropped
        s.execute(text("INSERT INTO t (who) VALUES ('dropped')"))
        expect_rollback(s)
        s.connection().connection.invalidate()  # as the pool does with a broken one
    with factory() as s:  # closed without a commit
        s.execute(text("INSERT INTO t (who) VALUES ('closed')"))
        expect_rollback(s)
    started = time.perf_counter()
    with factory() as s:
        s.execute(text("INSERT INTO t (who) VALUES ('kept')"))
        s.commit()
    assert time.perf_counter() - started < 1.0
    with factory() as s:
        assert s.execute(text("SELECT who FROM t")).scalars().all() == ["kept"]
