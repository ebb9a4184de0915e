"""`emis review`: the approval ladder of this country."""

from typing import Annotated

import typer

from app.cli.common import command_uow, fail, out

review_app = typer.Typer(help="Review and approval.", no_args_is_help=True)


@review_app.command("ladder")
def ladder(
    levels: Annotated[
        str | None,
        typer.Option(
            help="Set the admin levels that approve, first rung first, e.g. 2,1,0 "
            "(district, then region, then national). Without it: show the ladder."
        ),
    ] = None,
) -> None:
    """Show or set the approval ladder."""
    from app.review.service import ladder as current
    from app.review.service import set_ladder

    with command_uow() as uow:
        if levels is None:
            steps = current(uow.reader)
        else:
            try:
                wanted = [int(x) for x in levels.split(",") if x.strip()]
            except ValueError:
                fail(f"--levels {levels!r} is not a list of numbers.", "Write e.g. --levels 2,1,0.")
            steps = set_ladder(uow, wanted)
    out.print("Approval ladder (first rung first): " + " → ".join(f"level {s}" for s in steps))
