"""`emis demo`: build the synthetic demo country and serve it."""

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from app.cli.common import console, out, progress_bar
from app.core.config import get_settings
from app.core.db import make_engine
from app.core.uow import Database


def demo(
    schools: Annotated[int, typer.Option(min=1, max=100_000, help="Number of schools.")] = 600,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same country).")] = 2025,
    returns: Annotated[
        bool,
        typer.Option(
            help="Also fill returns (form v2) for both years, the current one following from the earlier."
        ),
    ] = True,
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve when built.")
    ] = True,
    reset: Annotated[
        bool, typer.Option(help="Wipe an existing SQLite demo database first.")
    ] = False,
    host: str = "127.0.0.1",
    port: int = 8000,
) -> None:
    """Build a synthetic, plausible demo country, print its users, then serve it."""
    from app.demo.generator import DemoSpec, build_demo

    settings = get_settings()
    url = settings.effective_database_url
    if reset and url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    from app.core.migrate import upgrade

    upgrade(url)
    with progress_bar() as bar:
        task = bar.add_task("Building the demo country", total=None)

        def step(label: str, done: int, total: int) -> None:
            bar.update(task, description=label, completed=done, total=total)

        engine = make_engine(url)
        try:
            result = build_demo(
                Database(engine),
                DemoSpec(schools=schools, seed=seed, returns=returns),
                step,
            )
        finally:
            engine.dispose()
    if result.already_present:
        console.print(
            "[yellow]The demo country is already in this database[/] (use --reset to rebuild)."
        )
    table = Table("username", "password", "role", "area", title="Demo users")
    for u in result.users:
        table.add_row(u.username, u.password, u.role, u.unit)
    out.print(table)
    out.print(f"{result.summary}")
    if serve_after:
        from app.cli.serve import serve

        serve(host=host, port=port, workers=1)
