"""`emis returns`: census returns from a ministry's own files."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from app.cli.common import console, fail, out, progress_bar

if TYPE_CHECKING:
    from app.core.principal import Principal
    from app.core.uow import Database

returns_app = typer.Typer(help="Census returns from a ministry's own files.", no_args_is_help=True)


@returns_app.command("import")
def returns_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    form: Annotated[str, typer.Option(help="Form code the rows fill, e.g. ph_deped_enrolment.")],
    year: Annotated[int, typer.Option(help="School year of the returns (2023 = 2023/24).")],
    mapping: Annotated[
        Path,
        typer.Option(
            help="YAML: the school column and the cell of each column (a name from app/sync/mappings/ or a path)."
        ),
    ],
    as_user: Annotated[
        str, typer.Option("--as", help="Store the revisions as this national user.")
    ] = "admin",
    report: Annotated[
        Path | None, typer.Option(help="Write the list of bad rows to this CSV.")
    ] = None,
) -> None:
    """Import a wide CSV (a row per school, a column per cell) as returns, through the same
    checks and exactly-once push as a device; all or nothing for bad rows, and importing the
    same file again changes nothing."""
    from app.cli.registry import _print_rejection
    from app.core.config import get_settings
    from app.core.db import make_engine
    from app.core.migrate import schema_problem
    from app.core.uow import Database
    from app.forms.service import FormCache
    from app.sync.wide_import import ImportRejected, WideMapping, import_returns, read_file

    settings = get_settings()
    engine = make_engine(
        settings.effective_database_url, sqlite_synchronous=settings.sqlite_synchronous
    )
    try:
        issue = schema_problem(engine, settings.effective_database_url)
        if issue:
            fail(issue)
        try:
            m = WideMapping.load(mapping)
        except Exception as exc:
            fail(f"The mapping file {mapping} cannot be read: {exc}")
        db = Database(engine)
        user = _national_user(db, as_user)
        forms = FormCache()
        try:
            _version, items, _lines = read_file(db, file, m, form, year, forms)
        except ImportRejected as rejected:
            _print_rejection(file, rejected, report)
            raise typer.Exit(1) from None
        except (UnicodeDecodeError, OSError) as exc:
            fail(f"Cannot read {file}: {exc}", "Save the file as UTF-8 CSV.")
        with progress_bar(transient=True) as bar:
            task = bar.add_task(f"Importing {file.name}", total=len(items))
            result = import_returns(db, user, items, forms, progress=lambda n: bar.advance(task, n))
    finally:
        engine.dispose()
    if result.other:
        console.print(f"[yellow]{len(result.other)} row(s) not stored:[/]")
        for line in result.other[:20]:
            console.print(f"  {line}")
    out.print(
        f"[green]Imported[/] {file.name}: {result.rows} rows; {result.applied} stored as a new "
        f"revision ({result.invalid} of them invalid), {result.unchanged} unchanged."
    )
    if result.other:
        raise typer.Exit(1)


def _national_user(db: "Database", username: str) -> "Principal":
    from sqlalchemy import select
    from sqlmodel import col

    from app.auth.models import User
    from app.core.principal import Principal
    from app.registry.models import AdminUnit

    with db.reader() as s:
        found = s.execute(
            select(User, AdminUnit)
            .join(AdminUnit, col(AdminUnit.id) == User.admin_unit_id)
            .where(col(User.username) == username)
        ).first()
    if found is None or found[0].role != "admin" or found[1].level != 0:
        fail(
            f"{username!r} is not a national administrator.",
            "Pass --as with one (emis user create --role admin --unit <country>).",
        )
    user, unit = found  # type: ignore[misc]  # fail() does not return
    return Principal(user.id, user.username, user.role, unit.id, unit.code, unit.path, 0)  # type: ignore[arg-type]
