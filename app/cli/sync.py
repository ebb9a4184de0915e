"""`emis sync`: the change log devices pull from."""

from datetime import timedelta
from typing import Annotated

import typer

from app.cli.common import command_session, out

sync_app = typer.Typer(help="The change log devices pull from.", no_args_is_help=True)


@sync_app.command("compact")
def sync_compact(
    keep_days: Annotated[
        int,
        typer.Option(
            min=0,
            help="Keep every change of the last N days; devices that last pulled before then "
            "start again with a full pull (410).",
        ),
    ] = 90,
) -> None:
    """Remove changes older than the horizon that no fresh pull needs, and move the horizon."""
    from app.core.changelog import compact, horizon, sequence_before
    from app.core.types import utcnow

    with command_session() as session:
        up_to = sequence_before(session, utcnow() - timedelta(days=keep_days))
        before = horizon(session)
        removed = compact(session, up_to)
        after = horizon(session)
    if after == before:
        out.print(f"Nothing to compact: the horizon stays at change {before}.")
    else:
        out.print(
            f"[green]Compacted[/] {removed} change(s); the horizon moved from {before} to {after} "
            f"(devices that pulled before change {after} will pull everything again)."
        )
