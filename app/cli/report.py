"""`emis report`: printable reports written without a server (the same documents as the
dashboard's)."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from app.cli.common import fail, out, progress_bar

if TYPE_CHECKING:
    from app.core.principal import Principal
    from app.core.uow import Database

report_app = typer.Typer(help="Printable reports (PDF).", no_args_is_help=True)


@report_app.command("diagnosis")
def report_diagnosis(
    unit: Annotated[str, typer.Option(help="Admin unit code, e.g. DM-R01.")],
    out_file: Annotated[
        Path, typer.Option("--out", help="The PDF to write, e.g. diagnosis.pdf.", dir_okay=False)
    ],
    year: Annotated[
        int | None, typer.Option(help="School year (2025 = 2025/26); default: the latest.")
    ] = None,
    lang: Annotated[str, typer.Option(help="Language of the report: en or fr.")] = "en",
    level: Annotated[
        str, typer.Option(help="Education level of the flow and resources sections.")
    ] = "",
    as_user: Annotated[
        str | None,
        typer.Option("--as", help="Write it as this user sees it (default: the first admin)."),
    ] = None,
    html: Annotated[
        bool, typer.Option("--html", help="Write the HTML document instead of the PDF.")
    ] = False,
) -> None:
    """The diagnosis of a unit's education system (data note, access, internal efficiency,
    resources, equity), as `GET /reports/diagnosis/{unit}?format=pdf` gives it."""
    from app.core.config import get_settings
    from app.core.db import make_engine
    from app.core.errors import AppError
    from app.core.migrate import schema_problem
    from app.core.uow import Database
    from app.web.report import build
    from app.web.reports import report_html, report_pdf
    from app.web.text import languages

    if lang not in languages():
        fail(f"Unknown language {lang!r}.", f"Use one of {', '.join(languages())}.")
    settings = get_settings()
    engine = make_engine(
        settings.effective_database_url, sqlite_synchronous=settings.sqlite_synchronous
    )
    try:
        issue = schema_problem(engine, settings.effective_database_url)
        if issue:
            fail(issue)
        db = Database(engine)
        user = _reader(db, as_user)
        with progress_bar(transient=True) as bar:
            task = bar.add_task(f"Reading the figures of {unit}", total=3)
            try:
                with db.reader() as session:
                    report = build(session, user, unit, year, lang, level)
            except AppError as exc:
                fail(exc.detail)
            bar.update(task, advance=1, description="Drawing the charts")
            document = report_html(report, pdf=True)
            bar.update(task, advance=1, description="Laying out the pages")
            data = document.encode() if html else report_pdf(document)
            bar.update(task, advance=1)
    finally:
        engine.dispose()
    try:
        out_file.write_bytes(data)
    except OSError as exc:
        fail(f"Cannot write {out_file}: {exc}")
    out.print(
        f"[green]Wrote[/] {out_file}: diagnosis of {report.unit.name} ({report.unit.code}), "
        f"{report.year}, {report.lang}, as {user.username} ({len(data):,} bytes)."
    )


def _reader(db: "Database", username: str | None) -> "Principal":
    """The user whose area the report covers: the one named, else the first active admin."""
    from sqlalchemy import select
    from sqlmodel import col

    from app.auth.models import User
    from app.core.principal import Principal
    from app.registry.models import AdminUnit

    q = select(User, AdminUnit).join(AdminUnit, col(AdminUnit.id) == User.admin_unit_id)
    if username is None:
        q = q.where(col(User.role) == "admin", col(User.is_active)).order_by(col(User.id))
    else:
        q = q.where(col(User.username) == username)
    with db.reader() as s:
        found = s.execute(q.limit(1)).first()
    if found is None:
        if username is None:
            fail("No active administrator exists.", "Pass --as with a user name.")
        fail(f"No user {username!r}.", "Pass --as with an existing user name.")
    user, unit = found  # type: ignore[misc]  # fail() does not return
    if not user.is_active:
        fail(f"User {username!r} is disabled.")
    return Principal(user.id, user.username, user.role, unit.id, unit.code, unit.path, 0)  # type: ignore[arg-type]
