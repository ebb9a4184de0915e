"""The unit of work: one per use case (an HTTP request, a CLI command, a demo batch).

It holds the database sessions, the caller, the clock, the changes devices must learn of, the
audit events and the jobs to run once the work is durable. `commit()` is the only place in the
code base that commits: it writes the pending changes last (they take the change counter's lock,
held until the commit), then commits, then runs the after-commit jobs. Services only flush.

On PostgreSQL a use case has one session: its reads and its writes share one connection. On
SQLite, which has a single writer, reads run in a read session and the write transaction
(`BEGIN IMMEDIATE`) starts only when the first write needs it, after the read session has let
its connection go; so a request holds at most one connection at a time on either database."""

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from app.core.audit import AuditEvent, Origin, write_audit
from app.core.changelog import Change, write_changes
from app.core.db import expect_rollback, is_sqlite, make_sessionmaker
from app.core.derived import forget, run_keepers
from app.core.principal import Principal
from app.core.types import utcnow

log = logging.getLogger("emis.uow")
T = TypeVar("T")

# Called with each unit of work that really committed (tests count commits with it).
commit_listeners: list[Callable[["UnitOfWork"], None]] = []

# SQLSTATEs after which PostgreSQL asks for the whole transaction to be run again.
RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock detected


class Database:
    """One database: its engine and the two kinds of sessions."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sqlite = is_sqlite(engine)
        self.writer: sessionmaker[Session] = make_sessionmaker(engine, write=True)
        self.reader: sessionmaker[Session] = make_sessionmaker(engine, write=False)


class UncommittedWork(RuntimeError):
    """A use case wrote and ended without committing: a bug, never silently rolled back."""


def is_retryable(exc: BaseException) -> bool:
    """True for a deadlock or serialization failure: running the transaction again may pass."""
    orig = getattr(exc, "orig", None)
    return isinstance(exc, DBAPIError) and getattr(orig, "sqlstate", None) in RETRYABLE_SQLSTATES


class UnitOfWork:
    """One use case's work against the database; see the module's docstring."""

    def __init__(
        self,
        db: Database,
        *,
        actor: Principal | None = None,
        now: datetime | None = None,
        origin: Origin | None = None,
    ) -> None:
        self.db = db
        self.actor = actor
        self.origin = origin or Origin(via="cli")
        self.now = now or utcnow()
        self.changes: list[Change] = []
        self.audit_events: list[AuditEvent] = []
        self.jobs: list[Callable[[], None]] = []
        self.riders: list[Callable[[Session], None]] = []
        self.commits = 0
        self._read: Session | None = None
        self._write: Session | None = None
        self._closed = False

    # ------------------------------------------------------------ sessions

    def _open(self, factory: sessionmaker[Session]) -> Session:
        if self._closed:
            raise RuntimeError("this unit of work is closed")
        session = factory()
        # Services note changes through the session (changelog.note_changes); they land here.
        session.info["pending_changes"] = self.changes
        session.info["audit_events"] = self.audit_events
        session.info["uow"] = self
        return session

    @property
    def reader(self) -> Session:
        """The session to read with (the write session once the work has started writing)."""
        if self._write is not None:
            return self._write
        if not self.db.sqlite:
            return self.session
        if self._read is None:
            self._read = self._open(self.db.reader)
        return self._read

    @property
    def session(self) -> Session:
        """The write session; on SQLite, opening it ends the read session first."""
        if self._write is None:
            self.end_reading()
            self._write = self._open(self.db.writer)
        return self._write

    def end_reading(self) -> None:
        """Let the read session's connection go (its snapshot ends); later reads open anew."""
        if self._read is not None:
            self._read.close()  # objects read stay usable (detached, not expired)
            self._read = None

    @property
    def wrote(self) -> bool:
        """True when the write session holds work not yet committed."""
        s = self._write
        if s is None:
            return False
        if s.new or s.dirty or s.deleted or self.changes or self.audit_events:
            return True
        return s.in_transaction() and "wrote" in s.connection().info

    # ------------------------------------------------------------ what rides with the commit

    def record(self, *changes: Change) -> None:
        """Changes devices must learn of; written last, at the commit."""
        self.changes.extend(changes)

    def audit(self, action: str, target: str, *, lasting: bool = False, **detail: Any) -> None:
        """An audit event, stored with the commit; a `lasting` one is stored even when the
        use case fails (a refused sign-in)."""
        self.audit_events.append(AuditEvent(action, target[:200], detail, lasting=lasting))

    def after_commit(self, job: Callable[[], None]) -> None:
        """Run `job` once the work is durable (never if it rolls back)."""
        self.jobs.append(job)

    def ride_along(self, write: Callable[[Session], None]) -> None:
        """A small bookkeeping write (a token's last use): it rides in this work's transaction
        when the work writes, and runs in a short transaction of its own after the work when
        it only read; never when the work fails."""
        self.riders.append(write)

    # ------------------------------------------------------------ the one commit

    def commit(self) -> None:
        """Make the work durable: changes last, then the commit, then the after-commit jobs.
        With nothing written it only ends the transaction."""
        session = self._write
        riders, self.riders = self.riders, []
        if session is None or not self.wrote:
            # Nothing to make durable: the transaction ends when the unit of work closes
            # (closing keeps loaded objects usable; a rollback would expire them).
            for write in riders:
                self.jobs.append(lambda write=write: self._ride_alone(write))  # type: ignore[misc]
            self._run_jobs()
            return
        for write in riders:
            write(session)
        session.flush()
        run_keepers(session)  # derived figures follow the writes, in the same transaction
        self._write_audit(session, self.audit_events)
        self.audit_events.clear()
        write_changes(session, self.changes)
        self.changes.clear()
        session.commit()
        self.commits += 1
        for listener in commit_listeners:
            listener(self)
        self._run_jobs()

    def _write_audit(self, session: Session, events: list[AuditEvent]) -> None:
        actor = self.actor
        write_audit(
            session,
            events,
            origin=self.origin,
            user_id=actor.user_id if actor else None,
            username=actor.username if actor else self.origin.operator(),
            token_id=actor.token_id if actor else None,
        )

    def keep_lasting_events(self) -> None:
        """After a failed use case: store the events that must outlive it (a refused sign-in)
        in a transaction of their own."""
        lasting = [e for e in self.audit_events if e.lasting]
        self.rollback()
        if not lasting:
            return
        session = self.session
        self._write_audit(session, lasting)
        session.commit()

    def _ride_alone(self, write: Callable[[Session], None]) -> None:
        with unit_of_work(self.db, now=self.now, origin=self.origin) as alone:
            write(alone.session)

    def rollback(self) -> None:
        """Undo everything not yet committed, on purpose."""
        self.changes.clear()
        self.audit_events.clear()
        self.jobs.clear()
        self.riders.clear()
        for s in (self._write, self._read):
            if s is not None:
                forget(s)
                expect_rollback(s)
                s.rollback()

    def _run_jobs(self) -> None:
        jobs, self.jobs = self.jobs, []
        for job in jobs:
            try:
                job()
            except Exception:
                log.exception("after-commit job failed")

    def transaction(self, work: Callable[[Session], T], *, attempts: int = 4) -> T:
        """Run `work` in the write session and commit, as one transaction; when the database
        answers with a deadlock or a serialization failure, roll back and run it again (with a
        short random pause), up to `attempts` times."""
        for attempt in range(1, attempts + 1):
            try:
                result = work(self.session)
                self.commit()
                return result
            except DBAPIError as exc:
                if not is_retryable(exc) or attempt == attempts:
                    raise
                log.warning(
                    "transaction retried", extra={"attempt": attempt, "error": str(exc.orig)}
                )
                self.rollback()
                time.sleep(random.uniform(0.005, 0.05) * attempt)
        raise AssertionError("unreachable")

    def close(self) -> None:
        """End the unit of work; work written but not committed is a bug (UncommittedWork)."""
        if self._closed:
            return
        forgotten = self.wrote
        try:
            if forgotten:
                self.rollback()
        finally:
            self._closed = True
            for s in (self._write, self._read):
                if s is not None:
                    s.close()
            self._write = self._read = None
        if forgotten:
            raise UncommittedWork("this use case wrote but did not commit; its work was undone")


@contextmanager
def unit_of_work(
    db: Database,
    actor: Principal | None = None,
    now: datetime | None = None,
    origin: Origin | None = None,
) -> Iterator[UnitOfWork]:
    """A unit of work that commits when the block ends normally and rolls back on an error
    (CLI commands, demo batches, the HTTP dependency); events that must outlive a failure are
    stored all the same."""
    uow = UnitOfWork(db, actor=actor, now=now, origin=origin)
    try:
        yield uow
    except BaseException:
        try:
            uow.keep_lasting_events()
        except Exception:
            log.exception("lasting audit events could not be stored")
            uow.rollback()
        uow.close()
        raise
    try:
        uow.commit()
    finally:
        uow.close()
