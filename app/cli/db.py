"""`emis db`: the database schema (Alembic migrations)."""

import typer

from app.cli.common import console, fail, out
from app.core.config import get_settings
from app.core.db import make_engine

db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Create or migrate the database schema to the latest version."""
    from app.core.migrate import upgrade

    settings = get_settings()
    upgrade(settings.effective_database_url, revision)
    console.print(
        f"[green]Database at {revision}[/] ({_safe_url(settings.effective_database_url)})"
    )


@db_app.command("current")
def db_current() -> None:
    """Show the migration the database is at and whether it is the latest."""
    from app.core.migrate import schema_problem

    settings = get_settings()
    engine = make_engine(settings.effective_database_url)
    issue = schema_problem(engine, settings.effective_database_url)
    engine.dispose()
    if issue:
        fail(issue)
    out.print("Schema is at the latest migration.")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
