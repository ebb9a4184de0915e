"""Test databases: every test gets a fresh, migrated database of the suite's kind.

EMIS_TEST_DB=sqlite (default) or postgresql. PostgreSQL is reached at EMIS_TEST_PG_URL
(default postgresql+psycopg://postgres@127.0.0.1:5432/postgres); each test database is a copy of
a template migrated once per session, and is dropped afterwards."""

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from app.core import db as core_db
from app.core.config import Settings
from app.core.db import make_engine, make_sessionmaker
from app.core.migrate import upgrade
from app.core.uow import Database
from app.main import create_app
from tests.servers import TEST_SECRET_KEY

# Every Settings() a test builds, and every server process it starts, gets a proper secret
# (the server refuses to start without one); tests of that refusal set their own.
os.environ.setdefault("EMIS_SECRET_KEY", TEST_SECRET_KEY)
# Servers under test do not warm the PDF renderers at start-up (seconds of CPU each, on a
# two-core machine running two workers); the test of the warm-up turns it on.
os.environ.setdefault("EMIS_WARM_RENDERERS", "0")

if TYPE_CHECKING:
    from app.demo.generator import DemoResult

DB_KIND = os.environ.get("EMIS_TEST_DB", "sqlite")
PG_ADMIN_URL = os.environ.get(
    "EMIS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
DEMO = {"schools": 120, "seed": 7, "returns": False}
HOW_TO_PG = (
    "PostgreSQL is not reachable at "
    f"{make_url(PG_ADMIN_URL).render_as_string(hide_password=True)}; "
    "start it or set EMIS_TEST_PG_URL, then run: EMIS_TEST_DB=postgresql pytest"
)


def pg_available() -> bool:
    try:
        eng = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with eng.connect():
            pass
        eng.dispose()
        return True
    except Exception:
        return False


def _require_pg() -> None:
    if not pg_available():
        if os.environ.get("CI"):
            pytest.fail(HOW_TO_PG)
        pytest.skip(HOW_TO_PG)


def _pg_exec(sql: str) -> None:
    eng = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with eng.connect() as conn:
        conn.execute(text(sql))
    eng.dispose()


def _pg_url(name: str) -> str:
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


class DatabaseFactory:
    """Makes fresh databases of one kind, copied from migrated templates."""

    def __init__(self, kind: str, workdir: Path) -> None:
        self.kind = kind
        self.workdir = workdir
        self.prefix = f"emis_t_{uuid.uuid4().hex[:8]}"
        self.templates: dict[str, str] = {}
        # What each template's build returned (a demo's users and their passwords: drawn at
        # random, only their hashes are in the database).
        self.built: dict[str, Any] = {}
        self.made: list[str] = []

    def _new_name(self) -> str:
        return f"{self.prefix}_{len(self.made)}"

    def template(self, name: str, build: "callable | None" = None) -> str:  # type: ignore[valid-type]
        """A migrated database kept for the session (and filled by `build` once)."""
        if name not in self.templates:
            url = self.empty(migrate=True, keep_name=f"{self.prefix}_tpl_{name}")
            if build is not None:
                self.built[name] = build(url)  # type: ignore[misc]
            self.templates[name] = url
        return self.templates[name]

    def empty(self, migrate: bool, keep_name: str | None = None) -> str:
        name = keep_name or self._new_name()
        self.made.append(name)
        if self.kind == "postgresql":
            _pg_exec(f'CREATE DATABASE "{name}"')
            url = _pg_url(name)
        else:
            url = f"sqlite:///{(self.workdir / (name + '.db')).as_posix()}"
        if migrate:
            upgrade(url)
        return url

    def copy(self, template_url: str) -> str:
        """A fresh database with the template's content."""
        name = self._new_name()
        self.made.append(name)
        if self.kind == "postgresql":
            template = make_url(template_url).database
            _pg_exec(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            return _pg_url(name)
        src = Path(make_url(template_url).database or "")
        dst = self.workdir / (name + ".db")
        shutil.copyfile(src, dst)
        return f"sqlite:///{dst.as_posix()}"

    def drop(self, url: str) -> None:
        if self.kind == "postgresql":
            _pg_exec(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
        else:
            for suffix in ("", "-wal", "-shm"):
                Path((make_url(url).database or "") + suffix).unlink(missing_ok=True)

    def close(self) -> None:
        if self.kind == "postgresql":
            for name in self.made:
                _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def db_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseFactory]:
    if DB_KIND == "postgresql":
        _require_pg()
    elif DB_KIND != "sqlite":
        raise pytest.UsageError("EMIS_TEST_DB must be sqlite or postgresql")
    factory = DatabaseFactory(DB_KIND, tmp_path_factory.mktemp("dbs"))
    yield factory
    factory.close()


@pytest.fixture(scope="session")
def pg_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseFactory]:
    """PostgreSQL databases whatever the suite's kind (for multi-process tests)."""
    _require_pg()
    factory = DatabaseFactory("postgresql", tmp_path_factory.mktemp("pgdbs"))
    yield factory
    factory.close()


def _build_demo(url: str) -> "DemoResult":
    from app.demo.generator import DemoSpec, build_demo

    engine = make_engine(url)
    try:
        return build_demo(Database(engine), DemoSpec(**DEMO))
    finally:
        engine.dispose()


def passwords(result: "DemoResult") -> dict[str, str]:
    """username -> password of the users a demo build made."""
    return {u.username: u.password for u in result.users if u.password is not None}


@pytest.fixture
def db_url(db_factory: DatabaseFactory) -> Iterator[str]:
    """A fresh, migrated, empty database."""
    url = db_factory.copy(db_factory.template("empty"))
    yield url
    db_factory.drop(url)


@pytest.fixture
def demo_url(db_factory: DatabaseFactory) -> Iterator[str]:
    """A fresh database holding the small demo country (DEMO above: schools, users, forms)."""
    url = db_factory.copy(db_factory.template("demo", _build_demo))
    yield url
    db_factory.drop(url)


@pytest.fixture(autouse=True)
def no_lost_writes() -> Iterator[None]:
    """Every test fails if some use case wrote and its work was rolled back without anyone
    asking (a forgotten commit)."""
    core_db.lost_writes.clear()
    yield
    lost, core_db.lost_writes[:] = list(core_db.lost_writes), []
    assert not lost, f"writes rolled back without a commit: {lost}"


def make_settings(url: str, tmp: Path) -> Settings:
    return Settings(
        database_url=url, data_dir=tmp, log_json=False, secret_key=SecretStr(TEST_SECRET_KEY)
    )


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return make_settings(db_url, tmp_path)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture
def session(db_url: str) -> Iterator[Session]:
    engine = make_engine(db_url)
    with sessionmaker(bind=engine, expire_on_commit=False)() as s:
        yield s
    engine.dispose()


@dataclass
class Demo:
    url: str
    client: TestClient
    users: dict[str, str]
    result: "DemoResult"
    factory: sessionmaker[Session]
    db: Database

    def token(self, username: str) -> str:
        resp = self.client.post(
            "/api/v1/auth/token", data={"username": username, "password": self.users[username]}
        )
        assert resp.status_code == 200, resp.text
        return resp.json()["access_token"]

    def auth(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(username)}"}


@pytest.fixture
def demo(demo_url: str, db_factory: DatabaseFactory, tmp_path: Path) -> Iterator[Demo]:
    engine = make_engine(demo_url)
    factory = make_sessionmaker(engine)
    db = Database(engine)
    result = db_factory.built["demo"]  # the template's build: the users and their passwords
    users = passwords(result)
    with TestClient(create_app(make_settings(demo_url, tmp_path))) as c:
        yield Demo(demo_url, c, users, result, factory, db)
    engine.dispose()
