"""`emis registry`: reference data (admin units, schools, population, years)."""

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from app.cli.common import command_session, console, fail, out, progress_bar

registry_app = typer.Typer(
    help="Reference data: admin units, schools, population, years.", no_args_is_help=True
)


@registry_app.command("import")
def registry_import(
    kind: Annotated[str, typer.Argument(help="units | schools | population | years")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    mapping: Annotated[
        Path | None,
        typer.Option(help="YAML column mapping for a foreign file.", exists=True, dir_okay=False),
    ] = None,
    delimiter: Annotated[str, typer.Option(help="Field separator.")] = ",",
    report: Annotated[
        Path | None, typer.Option(help="Write the list of bad rows to this CSV.")
    ] = None,
) -> None:
    """Import one CSV file, all or nothing; re-importing the same file changes nothing.

    Columns (first line): units: code,name,level_name,parent; schools: code,name,unit,ownership,
    locality,levels,status; population: unit,year,age,sex,value; years: year,label,reference_date,
    window_opens,window_closes. Any other layout: --mapping (see app/registry/mappings/)."""
    from app.registry.importer import KINDS, ImportRejected, Mapping, import_file

    if kind not in KINDS:
        fail(f"Unknown kind {kind!r}.", f"Use one of: {', '.join(KINDS)}.", code=2)
    m = None
    if mapping:
        try:
            m = Mapping.load(mapping)
        except Exception as exc:
            fail(f"The mapping file {mapping} cannot be read: {exc}")
    total = sum(1 for _ in file.open(encoding="utf-8-sig", errors="replace")) - 1
    with progress_bar(transient=True) as bar:
        task = bar.add_task(f"Importing {file.name}", total=max(total, 0))
        try:
            with command_session() as session:
                result = import_file(
                    session, kind, file, m, delimiter, progress=lambda n: bar.advance(task, n)
                )
        except ImportRejected as rejected:
            bar.stop()
            _print_rejection(file, rejected, report)
            raise typer.Exit(1) from None
        except (UnicodeDecodeError, OSError) as exc:
            bar.stop()
            fail(f"Cannot read {file}: {exc}", "Save the file as UTF-8 CSV.")
    extra = ""
    if result.units:
        extra = (
            f"; admin units: {result.units['created']} created, {result.units['updated']} "
            f"updated, {result.units['unchanged']} unchanged"
        )
    out.print(
        f"[green]Imported[/] {file.name}: {result.rows} rows; {result.created} created, "
        f"{result.updated} updated, {result.unchanged} unchanged{extra}."
    )


def _print_rejection(file: Path, rejected: "Exception", report: Path | None) -> None:
    import csv

    errors = rejected.errors  # type: ignore[attr-defined]
    rows = {e.line for e in errors}
    console.print(
        f"[bold red]Rejected:[/] {file.name} has {len(errors)} problem(s) in {len(rows)} "
        "row(s). Nothing was imported."
    )
    table = Table("line", "column", "value", "reason", title=f"Problems in {file.name}")
    for e in errors[:200]:
        table.add_row(str(e.line), e.column, e.value[:40], e.reason)
    console.print(table)
    if len(errors) > 200:
        console.print(f"… and {len(errors) - 200} more (use --report FILE for all).")
    if report:
        with report.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["line", "column", "value", "reason"])
            w.writerows([e.line, e.column, e.value, e.reason] for e in errors)
        console.print(f"Full list written to {report}.")
    console.print("[yellow]Fix:[/] correct those rows and import the file again.")
