"""`emis user` and `emis token`: users and long-lived device tokens."""

import sys
from typing import Annotated

import typer
from rich.table import Table

from app.cli.common import command_session, console, fail, out

user_app = typer.Typer(help="Users.", no_args_is_help=True)
token_app = typer.Typer(help="Device tokens.", no_args_is_help=True)


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

    table = Table("id", "user", "kind", "label", "created", "last used", "expires", "revoked")
    with command_session() as session:
        for t, name in list_tokens(session, user):
            table.add_row(
                str(t.id),
                name,
                t.kind,
                t.label,
                f"{t.created_at:%Y-%m-%d %H:%M}",
                f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never",
                f"{t.expires_at:%Y-%m-%d %H:%M}" if t.expires_at else "-",
                f"{t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "-",
            )
    out.print(table)


def audit(
    user: Annotated[str | None, typer.Option(help="Only this user's events.")] = None,
    action: Annotated[
        str | None,
        typer.Option(help="An action (login.failed), or a family ending in a dot (login.)."),
    ] = None,
    target: Annotated[
        str | None, typer.Option(help="A target (DM-000001), or a prefix ending in *.")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="From this time (RFC 3339 or YYYY-MM-DD, UTC).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000, help="How many, newest first.")] = 50,
) -> None:
    """Show the audit trail: who did what, when, from where (newest first)."""
    from datetime import UTC, datetime

    from app.core.audit import AuditFilter, list_events

    start = None
    if since:
        try:
            start = datetime.fromisoformat(since)
        except ValueError:
            fail(
                f"--since {since!r} is not a date or time.",
                "Write e.g. 2026-03-01 or 2026-03-01T08:00+00:00.",
            )
        assert start is not None
        start = start if start.tzinfo else start.replace(tzinfo=UTC)
    flt = AuditFilter(username=user, action=action, target=target, since=start)
    table = Table("at (UTC)", "user", "action", "target", "address", "device", "detail")
    with command_session() as session:
        for e in list_events(session, flt, before_id=None, limit=limit):
            detail = ", ".join(f"{k}={v}" for k, v in (e.detail or {}).items())
            table.add_row(
                f"{e.at:%Y-%m-%d %H:%M:%S}",
                e.username,
                e.action,
                e.target,
                e.address,
                e.device,
                detail,
            )
    out.print(table)
