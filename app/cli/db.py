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
    if revision == "head":
        _count_returns_kept_before(settings.effective_database_url)


def _count_returns_kept_before(url: str) -> None:
    """A database that held returns before the kept totals existed gets them counted once."""
    from sqlalchemy import func, select

    from app.cli.common import command_session, progress_bar
    from app.indicators.keep import rebuild
    from app.indicators.models import IndicatorPlacement
    from app.returns.models import CensusReturn

    engine = make_engine(url)
    with engine.connect() as c:
        stored = c.scalar(select(func.count()).select_from(CensusReturn)) or 0
        counted = c.scalar(select(func.count()).select_from(IndicatorPlacement)) or 0
    engine.dispose()
    if stored == 0 or counted > 0:
        return
    with command_session() as session, progress_bar() as bar:
        task = bar.add_task("Counting returns into the kept totals", total=stored)
        rebuild(session, lambda n: bar.advance(task, n))
    console.print(f"[green]Counted[/] {stored} existing return(s) into the kept totals.")


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
