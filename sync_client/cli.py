"""`emis-sync`: the district office's client (offline store, Excel, push, pull, conflicts).

Every command takes --json for scripts; --home (or EMIS_SYNC_HOME) picks the folder of the
config and the local store; --lang (or the config, or LANG) picks English or French."""

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from sync_client import __version__

app = typer.Typer(
    help="EMIS district sync client. Works offline; pushes when a connection appears.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

_state: dict[str, Any] = {"home": None, "lang": None}
JsonOpt = typer.Option(False, "--json", help="Print JSON for scripts instead of tables.")
YearOpt = typer.Option(None, "--year", help="School year (default: the open one).")


def _console() -> Console:
    return Console(highlight=False, soft_wrap=False)


def _err() -> Console:
    return Console(stderr=True, highlight=False)


@app.callback()
def main_options(
    home: Path | None = typer.Option(
        None, "--home", envvar="EMIS_SYNC_HOME", help="Folder of the config and local store."
    ),
    lang: str | None = typer.Option(
        None, "--lang", help="Language of messages: one with a message catalogue (en, fr, …)."
    ),
) -> None:
    """EMIS district sync client."""
    _state["home"] = home
    _state["lang"] = lang


def _client() -> Any:
    from sync_client.client import Client

    return Client(_state["home"], lang=_state["lang"])


def _out(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _fail(exc: Exception, as_json: bool, code: int = 2) -> None:
    from sync_client.client import ClientError
    from sync_client.http import ApiError, Unreachable

    message, fix = str(exc), ""
    if isinstance(exc, ClientError):
        message, fix = exc.message, exc.fix
    elif isinstance(exc, ApiError):
        message = f"{exc.status} {exc.problem.get('title', '')}: {exc.problem.get('detail', '')}"
        errors = exc.problem.get("errors") or []
        message += "".join(f"\n  {e.get('path', '')}: {e.get('message', '')}" for e in errors)
    elif isinstance(exc, Unreachable):
        message = str(exc)
    if as_json:
        _out({"error": message, "fix": fix})
    else:
        c = _err()
        c.print(f"[bold red]{escape(message)}[/]")
        if fix:
            c.print(escape(fix))
    raise typer.Exit(code)


def _guard(as_json: bool) -> Any:
    """Turn the client's own errors into a message and an exit code (no stack trace)."""
    from sync_client.client import ClientError
    from sync_client.http import ApiError, Unreachable
    from sync_client.store import StoreTooNew

    class Guard:
        def __enter__(self) -> None:
            return None

        def __exit__(self, et: Any, exc: Any, tb: Any) -> None:
            if isinstance(exc, ClientError | ApiError | Unreachable | StoreTooNew):
                _fail(exc, as_json)

    return Guard()


def _progress(label: str, as_json: bool) -> Any:
    """A progress bar on stderr when it is a terminal (nothing for scripts)."""
    if as_json or not sys.stderr.isatty():
        return None, None
    bar = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task(label, total=None)

    def step(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    return bar, step


@app.command()
def version(as_json: bool = JsonOpt) -> None:
    """Print the client's version."""
    if as_json:
        _out({"version": __version__})
    else:
        typer.echo(__version__)


@app.command()
def init(
    server: str = typer.Option(..., "--server", help="The server's address, https://…"),
    device_id: str | None = typer.Option(None, "--device-id", help="Name of this laptop."),
    as_json: bool = JsonOpt,
) -> None:
    """Set this laptop up for a server (config and local store in the home folder)."""
    from sync_client.client import Client
    from sync_client.messages import t

    with _guard(as_json):
        c = Client.init(_state["home"], server, device_id=device_id, lang=_state["lang"])
        if as_json:
            _out({"server": c.server, "home": str(c.home), "device_id": c.device_id})
        else:
            _console().print(escape(t("initialised", c.lang, server=c.server, home=str(c.home))))
        c.close()


@app.command()
def login(
    username: str | None = typer.Option(None, "--username", "-u"),
    token: str | None = typer.Option(None, "--token", help="A device token instead."),
    password_stdin: bool = typer.Option(False, "--password-stdin"),
    as_json: bool = JsonOpt,
) -> None:
    """Log in with a username and password (only the token is kept) or a device token."""
    from sync_client.messages import t

    with _guard(as_json):
        c = _client()
        if token:
            me = c.set_token(token)
        else:
            user = username or typer.prompt("Username")
            if password_stdin:
                password = sys.stdin.readline().rstrip("\n")
            else:
                password = typer.prompt("Password", hide_input=True)
            me = c.login(user, password)
        if as_json:
            _out(me)
        else:
            _console().print(escape(t("logged_in", c.lang, user=me["username"], unit=me["unit"])))
        c.close()


@app.command()
def doctor(as_json: bool = JsonOpt) -> None:
    """Say what is wrong with the set-up and how to fix it."""
    with _guard(as_json):
        c = _client()
        checks = c.doctor()
        c.close()
    if as_json:
        _out([asdict(x) for x in checks])
    else:
        con = _console()
        for x in checks:
            mark = "[green]ok[/]  " if x.ok else "[bold red]FAIL[/]"
            con.print(f"{mark} {escape(x.message)}")
            if x.fix:
                con.print(f"      → {escape(x.fix)}")
    raise typer.Exit(0 if all(x.ok for x in checks) else 1)


@app.command()
def pull(as_json: bool = JsonOpt) -> None:
    """Receive reference data, forms and returns (resumes where it stopped)."""
    from sync_client.messages import t

    with _guard(as_json):
        c = _client()
        bar, step = _progress("pull", as_json)
        if bar:
            with bar:
                s = c.pull(step)
        else:
            s = c.pull()
        c.close()
    if as_json:
        _out(asdict(s))
        return
    con = _console()
    if s.restarted:
        con.print(escape(t("pull_restarted", c.lang)))
    con.print(escape(t("pull_done", c.lang, changes=s.changes, deleted=s.deleted)))
    if s.kept_local:
        con.print(escape(t("kept_local", c.lang, n=len(s.kept_local))))


def _push_report(c: Any, s: Any, as_json: bool) -> dict[str, Any]:
    from sync_client.messages import t

    data = {
        "sent": s.sent,
        "batches": s.batches,
        "applied": s.count("applied") + s.count("duplicate"),
        "conflict": s.count("conflict"),
        "rejected": s.count("rejected"),
        "results": [asdict(r) for r in s.results],
        "outbox": c.outbox_size(),
    }
    if not as_json:
        con = _console()
        if not s.sent:
            con.print(escape(t("push_nothing", c.lang)))
        else:
            con.print(
                escape(
                    t(
                        "push_done",
                        c.lang,
                        sent=s.sent,
                        batches=s.batches,
                        applied=data["applied"],
                        conflict=data["conflict"],
                        rejected=data["rejected"],
                    )
                )
            )
        for r in s.results:
            if r.status in ("conflict", "rejected"):
                school = c.school(r.school) or {}
                con.print(f"[bold]{r.school}[/] {escape(school.get('name', ''))}: {r.status}")
                for e in r.errors:
                    con.print(f"  {escape(e.get('code', ''))} {escape(e.get('message', ''))}")
        if data["conflict"]:
            con.print(escape(t("fix_conflicts", c.lang)))
    return data


def _do_push(c: Any, as_json: bool) -> Any:
    bar, step = _progress("push", as_json)
    if bar:
        with bar:
            return c.push(step)
    return c.push()


@app.command()
def push(as_json: bool = JsonOpt) -> None:
    """Send the outbox (exactly once per change, whatever the network does)."""
    with _guard(as_json):
        c = _client()
        s = _do_push(c, as_json)
        data = _push_report(c, s, as_json)
        c.close()
    if as_json:
        _out(data)
    raise typer.Exit(1 if data["conflict"] or data["rejected"] else 0)


@app.command()
def sync(as_json: bool = JsonOpt) -> None:
    """Push, then pull."""
    from sync_client.messages import t

    with _guard(as_json):
        c = _client()
        s = _do_push(c, as_json)
        data = _push_report(c, s, as_json)
        p = c.pull()
        c.close()
    if as_json:
        _out({"push": data, "pull": asdict(p)})
    else:
        _console().print(escape(t("pull_done", c.lang, changes=p.changes, deleted=p.deleted)))
    raise typer.Exit(1 if data["conflict"] or data["rejected"] else 0)


@app.command()
def template(
    file: Path = typer.Argument(..., help="The .xlsx file to write."),
    year: int | None = YearOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Write the Excel workbook for your schools."""
    from sync_client.messages import t

    with _guard(as_json):
        c = _client()
        y = year or c.current_year()
        c.template(file, y)
        n = len([s for s in c.schools() if s.get("status", "open") == "open"])
        c.close()
    if as_json:
        _out({"file": str(file), "schools": n, "year": y})
    else:
        _console().print(escape(t("template_done", c.lang, file=str(file), n=n, year=y)))


def _findings_lines(con: Console, items: list[dict[str, Any]], style: str) -> None:
    for f in items:
        con.print(
            Padding(
                f"[{style}]{escape(f.get('code', ''))}[/] {escape(f.get('path', ''))}: "
                f"{escape(str(f.get('message', '')))}",
                (0, 0, 0, 2),
            )
        )


@app.command("import")
def import_(
    file: Path = typer.Argument(..., help="A filled .xlsx, .csv or .json file."),
    year: int | None = YearOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Import a filled file: all of it becomes local returns, or nothing if it has a problem."""
    from sync_client.messages import t

    with _guard(as_json):
        c = _client()
        report = c.import_file(file, year)
        c.close()
    lang = c.lang
    if as_json:
        _out(asdict(report) | {"ok": report.ok})
        raise typer.Exit(0 if report.ok else 1)
    con = _console()
    if not report.ok:
        con.print(
            "[bold red]"
            + escape(t("import_problems", lang, file=file.name, n=len(report.problems)))
            + "[/]"
        )
        current = None
        for p in report.problems:
            if p.school != current:
                current = p.school
                head = f"{p.school} {p.school_name}".strip() if p.school else t("no_school", lang)
                con.print(f"\n[bold]{escape(head)}[/]")
            where = p.where(lang)
            con.print(
                Padding(
                    f"• {escape(where + ': ' if where else '')}{escape(p.message)}", (0, 0, 0, 2)
                )
            )
            con.print(Padding(f"{escape(t('fix', lang))}: {escape(p.fix)}", (0, 0, 0, 4)))
        raise typer.Exit(1)
    changed = sum(1 for r in report.returns if r.changed)
    con.print(
        escape(t("import_done", lang, file=file.name, n=len(report.returns), changed=changed))
    )
    table = Table(show_lines=False)
    table.add_column(t("school", lang), no_wrap=True)
    table.add_column(t("name", lang))
    table.add_column(t("verdict", lang), no_wrap=True)
    table.add_column(t("findings", lang))
    for r in report.returns:
        table.add_row(
            r.school,
            escape(r.school_name),
            t(f"verdict_{r.status}", lang),
            t("n_errors", lang, n=len(r.errors)) + ", " + t("n_warnings", lang, n=len(r.warnings)),
        )
    con.print(table)
    for r in report.returns:
        if r.errors or r.warnings:
            con.print(f"\n[bold]{escape(r.school)} {escape(r.school_name)}[/]")
            _findings_lines(con, r.errors, "red")
            _findings_lines(con, r.warnings, "yellow")


@app.command()
def show(
    school: str = typer.Argument(...),
    year: int | None = YearOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Show one school's return, cell by cell."""
    from sync_client.messages import t

    with _guard(as_json):
        c = _client()
        v = c.show(school, year)
        c.close()
    if as_json:
        _out(
            {"school": school, "year": v.year, "state": v.state, "base": v.base, "values": v.values}
        )
        return
    con = _console()
    con.print(f"[bold]{escape(school)}[/] {v.year}: {t('state_' + v.state, c.lang)}")
    table = Table()
    table.add_column(t("cell", c.lang), no_wrap=True)
    table.add_column(t("value", c.lang), justify="right", no_wrap=True)
    for k, val in v.values.items():
        table.add_row(escape(k), escape(str(val)))
    con.print(table)


@app.command("set")
def set_(
    school: str = typer.Argument(...),
    cells: list[str] = typer.Argument(..., help="CELL=VALUE, e.g. 'teachers[sex=F]=4'."),
    year: int | None = YearOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Correct cells of one return without Excel (CELL= clears a cell)."""
    from sync_client.messages import t

    with _guard(as_json):
        c = _client()
        before = c.outbox_size()
        pairs: dict[str, Any] = {}
        for item in cells:
            key, eq, value = item.rpartition("=")
            if not eq:
                from sync_client.client import ClientError

                raise ClientError(t("unknown_cell", c.lang, cell=item), t("fix_cell", c.lang))
            pairs[key] = value
        v = c.set_cells(school, pairs, year)
        changed = c.outbox_size() > before
        c.close()
    if as_json:
        _out({"school": school, "changed": changed, "state": v.state, "values": v.values})
    else:
        _console().print(escape(t("saved" if changed else "unchanged", c.lang, school=school)))


app.command("edit", help="Same as set: correct cells of one return.")(set_)


@app.command()
def conflicts(as_json: bool = JsonOpt) -> None:
    """Show each conflict: your values against the server's, cell by cell."""
    from sync_client.messages import t

    with _guard(as_json):
        c = _client()
        found = c.conflicts()
        c.close()
    lang = c.lang
    if as_json:
        _out(found)
        return
    con = _console()
    if not found:
        con.print(escape(t("no_conflicts", lang)))
        return
    for x in found:
        by = t("by", lang, user=x["server_by"]) if x["server_by"] else ""
        con.print(
            "\n[bold]"
            + escape(
                t(
                    "conflict_head",
                    lang,
                    school=x["school"],
                    name=x["school_name"],
                    year=x["year"],
                    base=x["base_revision"],
                    rev=x["server_revision"],
                    by=by,
                )
            )
            + "[/]"
        )
        table = Table()
        table.add_column(t("cell", lang), no_wrap=True, overflow="fold")
        table.add_column(t("mine", lang), justify="right", no_wrap=True)
        table.add_column(t("theirs", lang), justify="right", no_wrap=True)
        for cell in x["cells"]:
            table.add_row(
                escape(cell["cell"]),
                "—" if cell["mine"] is None else escape(str(cell["mine"])),
                "—" if cell["theirs"] is None else escape(str(cell["theirs"])),
            )
        con.print(table)
        con.print(escape(t("resolve_hint", lang, school=x["school"])))


@app.command()
def resolve(
    school: str = typer.Argument(...),
    keep: str = typer.Option("mine", "--keep", help="mine or theirs, for every cell not named."),
    cell: list[str] = typer.Option([], "--cell", help="CELL=mine|theirs (repeatable)."),
    year: int | None = YearOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Resolve a conflict: the next revision from the chosen values, on the server's current."""
    from sync_client.messages import t

    with _guard(as_json):
        c = _client()
        choices = dict(x.rsplit("=", 1) for x in cell if "=" in x)
        v = c.resolve(school, keep, choices, year)
        c.close()
    if as_json:
        _out({"school": school, "state": v.state, "base": v.base, "values": v.values})
    else:
        _console().print(escape(t("resolved", c.lang, school=school)))


@app.command()
def status(year: int | None = YearOpt, as_json: bool = JsonOpt) -> None:
    """Per school: local state, last push, server status, findings and reviewer comments."""
    from sync_client.messages import t

    with _guard(as_json):
        c = _client()
        rows = c.status(year)
        pending = c.outbox_size()
        c.close()
    lang = c.lang
    if as_json:
        _out({"outbox": pending, "schools": rows})
        return
    con = _console()
    table = Table(pad_edge=False)
    table.add_column(t("school", lang), no_wrap=True)
    table.add_column(t("name", lang), ratio=1)
    table.add_column(t("local", lang), no_wrap=True)
    table.add_column(t("server", lang), no_wrap=True)
    table.add_column(t("last_push", lang), no_wrap=True)
    table.add_column(t("findings", lang), no_wrap=True)
    for r in rows:
        server = f"{r['server_status']} r{r['server_revision']}" if r["server_status"] else "—"
        last = (r["last_push"] or "—")[5:16].replace("T", " ") if r["last_push"] else "—"
        table.add_row(
            r["school"],
            escape(r["name"]),
            t("state_" + r["local"], lang),
            server,
            last,
            t("n_findings", lang, e=len(r["errors"]), w=len(r["warnings"])),
        )
    con.print(table)
    for r in rows:
        notes = r["errors"] or r["comments"] or r["last_error"]
        if not notes:
            continue
        con.print(f"\n[bold]{escape(r['school'])} {escape(r['name'])}[/]")
        if r["last_error"] and r["local"] == "pending":
            con.print(f"  [red]{escape(t('push_failed', lang, error=r['last_error']))}[/]")
        _findings_lines(con, r["errors"], "red")
        for cm in r["comments"]:
            if cm.get("comment"):
                con.print(
                    "  "
                    + escape(t("comment", lang, user=cm.get("user", ""), comment=cm["comment"]))
                )


@app.command()
def check(
    form_file: str = typer.Argument(..., help="Form definition (JSON or YAML)."),
    values_file: str = typer.Argument(..., help="A return's values as JSON."),
    lang: str = typer.Option("en", help="Language of the messages: en or fr."),
    as_json: bool = JsonOpt,
) -> None:
    """Check one return offline with the same rules as the server."""
    from sync_client.checks import compile_form, load_definition_file

    form = compile_form(load_definition_file(Path(form_file)))
    result = form.check(json.loads(Path(values_file).read_text(encoding="utf-8")), None, lang)
    if as_json:
        _out(
            {
                "verdict": result.status,
                "errors": [f.as_dict() for f in result.errors],
                "warnings": [f.as_dict() for f in result.warnings],
            }
        )
        raise typer.Exit(1 if result.status != "ok" else 0)
    for f in result.errors + result.warnings:
        typer.echo(f"{f.severity:7} {f.code:24} {f.path}: {f.message}")
    typer.echo(f"verdict: {result.status}")
    raise typer.Exit(1 if result.status != "ok" else 0)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
