"""`emis`: run the server and administer it (database, registry, users, tokens, forms, demo)."""

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.orm import Session

from app.core.config import Settings, get_settings
from app.core.db import make_engine
from app.core.errors import AppError
from app.core.uow import Database, unit_of_work

app = typer.Typer(
    help="EMIS census server: serve, migrate, import, manage users.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
registry_app = typer.Typer(
    help="Reference data: admin units, schools, population, years.", no_args_is_help=True
)
user_app = typer.Typer(help="Users.", no_args_is_help=True)
token_app = typer.Typer(help="Device tokens.", no_args_is_help=True)
forms_app = typer.Typer(help="Form definitions.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(registry_app, name="registry")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(forms_app, name="forms")

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
                yield uow.session
        except AppError as exc:
            fail(exc.detail + "".join(f"\n  {e['path']}: {e['message']}" for e in exc.errors))
    finally:
        engine.dispose()


# ---------------------------------------------------------------- db


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


# ---------------------------------------------------------------- serve


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option(help="Worker processes (use PostgreSQL for more than 1).")
    ] = 1,
) -> None:
    """Run the HTTP server (refuses to start on a schema that is not at the latest migration)."""
    import uvicorn

    from app.core.logging import setup_logging
    from app.core.migrate import schema_problem

    settings = get_settings()
    engine = make_engine(settings.effective_database_url)
    issue = schema_problem(engine, settings.effective_database_url)
    engine.dispose()
    if issue:
        fail(issue)
    setup_logging(settings.log_level, settings.log_json)
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Counters from every worker process are summed at /metrics.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="emis-metrics-")
    console.print(f"Serving on http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    uvicorn.run(
        "app.asgi:app", host=host, port=port, workers=workers, log_config=None, access_log=False
    )


# ---------------------------------------------------------------- registry


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


# ---------------------------------------------------------------- users and tokens


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Option(help="Login name.")],
    role: Annotated[str, typer.Option(help="admin | clerk | reviewer | analyst")],
    unit: Annotated[str, typer.Option(help="Code of the admin unit that is the user's area.")],
    full_name: Annotated[str, typer.Option(help="Name shown to people.")] = "",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create a user; the password is read from stdin (--password-stdin) or a hidden prompt."""
    from app.auth.service import create_user

    if password_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with command_session() as session:
        create_user(session, username, password, role, unit, full_name)
    out.print(f"[green]User {username} created[/] ({role}, area {unit}).")


@token_app.command("create")
def token_create(
    user: Annotated[str, typer.Option(help="The user the device acts for.")],
    label: Annotated[str, typer.Option(help="What the device is, e.g. laptop-dde-nord-1.")],
) -> None:
    """Create a long-lived device token and print it once (only its hash is kept)."""
    from app.auth.service import create_device_token

    with command_session() as session:
        row, token = create_device_token(session, user, label)
        session.flush()
        token_id = row.id
    console.print(
        f"Device token {token_id} for {user} ({label}); copy it now, it is not shown again:"
    )
    out.print(token)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(help="Token id from `emis token list`.")],
) -> None:
    """Revoke a token; the device gets 401 from then on."""
    from app.auth.service import revoke_token

    with command_session() as session:
        revoke_token(session, token_id)
    out.print(f"Token {token_id} revoked.")


@token_app.command("list")
def token_list(
    user: Annotated[str | None, typer.Option(help="Only this user's tokens.")] = None,
) -> None:
    """List tokens (never the tokens themselves)."""
    from app.auth.service import list_tokens

    table = Table("id", "user", "kind", "label", "created", "expires", "revoked")
    with command_session() as session:
        for t, name in list_tokens(session, user):
            table.add_row(
                str(t.id),
                name,
                t.kind,
                t.label,
                f"{t.created_at:%Y-%m-%d %H:%M}",
                f"{t.expires_at:%Y-%m-%d %H:%M}" if t.expires_at else "-",
                f"{t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "-",
            )
    out.print(table)


# ---------------------------------------------------------------- demo


@app.command()
def demo(
    schools: Annotated[int, typer.Option(min=1, max=100_000, help="Number of schools.")] = 600,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same country).")] = 2025,
    returns: Annotated[bool, typer.Option(help="Also fill returns for the earlier year.")] = True,
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
        serve(host=host, port=port, workers=1)


# ---------------------------------------------------------------- forms


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


def main() -> None:
    app()


if __name__ == "__main__":
    main()
