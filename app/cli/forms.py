"""`emis forms`: load form definitions."""

from pathlib import Path
from typing import Annotated

import typer

from app.cli.common import command_session, console, out

forms_app = typer.Typer(help="Form definitions.", no_args_is_help=True)


@forms_app.command("load")
def forms_load(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Load a form definition (JSON or YAML). A loaded version is immutable."""
    from rich.markup import escape

    from app.forms.checking import DefinitionError, load_definition_file
    from app.forms.service import store_definition

    try:
        defn = load_definition_file(file)
    except DefinitionError as exc:
        # One problem per line, escaped: expressions such as enrolment[grade=P1] are not markup.
        n = len(exc.problems)
        console.print(
            f"[bold red]Error:[/] The form definition in {escape(file.name)} is not valid "
            f"({n} problem{'s' if n != 1 else ''}):"
        )
        for problem in exc.problems:
            console.print(f"  {escape(problem)}", highlight=False)
        raise typer.Exit(1) from exc
    with command_session() as session:
        row, created = store_definition(session, defn)
    verb = "Loaded" if created else "Already loaded (identical)"
    out.print(f"[green]{verb}[/] {row.code} v{row.version}: {escape(row.title)}")


@forms_app.command("load-standard")
def forms_load_standard() -> None:
    """Load every shipped version of the standard annual school census, in version order."""
    from rich.markup import escape

    from app.forms.service import load_standard_forms

    with command_session() as session:
        loaded = load_standard_forms(session)
    for row, created in loaded:
        verb = "Loaded" if created else "Already loaded (identical)"
        out.print(f"[green]{verb}[/] {row.code} v{row.version}: {escape(row.title)}")
