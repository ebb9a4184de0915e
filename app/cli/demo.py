"""`emis demo`: build the synthetic demo country and serve it.

Its users' passwords are drawn at random when the database is built, printed, and kept in
`<data dir>/demo-users.json` (readable by its owner only) so that running `emis demo` again on
the same database prints them again. The demo serves in demo mode; without EMIS_SECRET_KEY it
uses a random key kept in `<data dir>/demo-secret-key`, the same at every restart."""

import json
import os
import secrets
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from app.cli.common import console, out, progress_bar
from app.core.config import Settings, get_settings
from app.core.db import make_engine
from app.core.uow import Database


def demo(
    schools: Annotated[int, typer.Option(min=1, max=100_000, help="Number of schools.")] = 600,
    seed: Annotated[
        int,
        typer.Option(
            help="Random seed of the data (same seed, same country; never the passwords)."
        ),
    ] = 2025,
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
    from app.demo.generator import DemoSpec, build_demo, users_with_passwords

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
            db = Database(engine)
            result = build_demo(db, DemoSpec(schools=schools, seed=seed, returns=returns), step)
            users_file = settings.data_dir / DEMO_USERS_FILE
            if result.already_present:
                users = users_with_passwords(db, result.users, _read_passwords(users_file))
            else:
                users = result.users
                _write_private(
                    users_file,
                    json.dumps({u.username: u.password for u in users}, indent=2) + "\n",
                )
        finally:
            engine.dispose()
    if result.already_present:
        console.print(
            "[yellow]The demo country is already in this database[/] (use --reset to rebuild)."
        )
    table = Table("username", "password", "role", "area", title="Demo users")
    for u in users:
        table.add_row(
            u.username, u.password or "(unknown: printed when it was built)", u.role, u.unit
        )
    out.print(table)
    out.print(f"{result.summary}")
    out.print(f"The passwords are kept in {users_file} (drawn at random for this database).")
    if serve_after:
        from app.cli.serve import serve

        _enter_demo_mode(settings)
        serve(host=host, port=port, workers=1)


DEMO_USERS_FILE = "demo-users.json"
DEMO_SECRET_FILE = "demo-secret-key"


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (it holds passwords or a key)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    path.chmod(0o600)


def _read_passwords(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): v for k, v in data.items() if isinstance(v, str)}


def _enter_demo_mode(settings: Settings) -> None:
    """Serve as a demo: demo mode on, and without EMIS_SECRET_KEY a random key kept in the data
    dir, so tokens and cursors it signs stay valid when the same demo is started again."""
    os.environ["EMIS_DEMO_MODE"] = "true"
    if not settings.secret_key.get_secret_value():
        path = settings.data_dir / DEMO_SECRET_FILE
        try:
            key = path.read_text(encoding="ascii").strip()
        except OSError:
            key = ""
        if not key:
            key = secrets.token_urlsafe(48)
            _write_private(path, key + "\n")
        os.environ["EMIS_SECRET_KEY"] = key
    get_settings.cache_clear()  # the server reads the settings again, in demo mode
