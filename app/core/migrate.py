"""Schema migrations: apply them, and tell whether a database is at the latest one."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

_ROOT = Path(__file__).resolve().parents[2]


def _migrations_dir() -> Path:
    for candidate in (_ROOT / "migrations", Path.cwd() / "migrations"):
        if (candidate / "env.py").exists():
            return candidate
    raise RuntimeError("Cannot find the migrations/ folder; run from the project folder.")


def alembic_config(database_url: str) -> Config:
    """An Alembic config bound to the given database, independent of the working folder."""
    cfg = Config()
    cfg.set_main_option("script_location", str(_migrations_dir()))
    cfg.attributes["database_url"] = database_url
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    """Apply every migration up to `revision`."""
    command.upgrade(alembic_config(database_url), revision)


def head_revision(database_url: str) -> str | None:
    """The newest migration this code knows."""
    return ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at (None when it has none)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def schema_problem(engine: Engine, database_url: str) -> str | None:
    """None when the schema is at head, else a sentence saying what is wrong and how to fix it."""
    try:
        current = current_revision(engine)
    except Exception as exc:
        return f"Cannot reach the database ({type(exc).__name__}: {exc})."
    head = head_revision(database_url)
    if current == head:
        return None
    if current is None:
        return "The database has no schema yet. Run `emis db upgrade` to create it."
    return (
        f"The database schema is at migration {current} but this version needs {head}. "
        "Run `emis db upgrade` to bring it up to date."
    )
