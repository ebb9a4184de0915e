"""What every `emis` command shares: consoles, progress bars, failures told plainly, and the
command's unit of work."""

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.orm import Session

from app.core.config import Settings, get_settings
from app.core.db import make_engine
from app.core.errors import AppError
from app.core.uow import Database, UnitOfWork, unit_of_work
from app.indicators import keep as _keeper  # noqa: F401  # totals follow every write

console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


def progress_bar(transient: bool = False) -> Progress:
    """The progress bar every long command shows: what, how far, how long."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=transient,
    )


def fail(message: str, hint: str | None = None, code: int = 1) -> None:
    console.print(f"[bold red]Error:[/] {message}")
    if hint:
        console.print(f"[yellow]Fix:[/] {hint}")
    raise typer.Exit(code)


@contextmanager
def command_session(settings: Settings | None = None) -> Iterator[Session]:
    """The write session of a command's unit of work (committed when the command's block
    ends, rolled back on an error), with schema and app errors told plainly."""
    with command_uow(settings) as uow:
        yield uow.session


@contextmanager
def command_uow(settings: Settings | None = None) -> Iterator[UnitOfWork]:
    """A command's unit of work (for services that take one), as `command_session`."""
    from app.core.migrate import schema_problem

    settings = settings or get_settings()
    engine = make_engine(
        settings.effective_database_url, sqlite_synchronous=settings.sqlite_synchronous
    )
    try:
        issue = schema_problem(engine, settings.effective_database_url)
        if issue:
            fail(issue)
        try:
            with unit_of_work(Database(engine)) as uow:
                yield uow
        except AppError as exc:
            fail(exc.detail + "".join(f"\n  {e['path']}: {e['message']}" for e in exc.errors))
    finally:
        engine.dispose()
