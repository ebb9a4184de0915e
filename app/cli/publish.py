"""`emis publish`: what releases need from an administrator (the DHIS2 mapping)."""

import csv
from pathlib import Path
from typing import Annotated

import typer

from app.cli.common import command_uow, fail, out

publish_app = typer.Typer(help="Publication: releases and their exports.", no_args_is_help=True)


@publish_app.command("dhis2-mapping")
def dhis2_mapping(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            help="CSV with columns kind (value | org_unit | data_set), source, dhis2_id, "
            "category_option_combo.",
        ),
    ],
) -> None:
    """Replace the DHIS2 mapping (all or nothing): our figure keys and unit codes to a DHIS2
    instance's ids."""
    from app.publishing.service import load_dhis2_mapping

    try:
        with file.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except (UnicodeDecodeError, csv.Error) as exc:
        fail(f"{file} is not a UTF-8 CSV file: {exc}.", "Save it as CSV UTF-8 and try again.")
    with command_uow() as uow:
        n = load_dhis2_mapping(uow, rows)
    out.print(f"DHIS2 mapping loaded: {n} rows.")


def worker(
    once: Annotated[
        bool, typer.Option("--once", help="Deliver what is due, then stop (cron, tests).")
    ] = False,
    poll: Annotated[float, typer.Option(min=0.1, help="Seconds between looks when idle.")] = 2.0,
) -> None:
    """Deliver webhooks from the outbox: signed, retried with backoff, every attempt logged."""
    from app.core.config import get_settings
    from app.core.db import make_engine
    from app.core.uow import Database
    from app.publishing.webhooks import run_worker

    settings = get_settings()
    engine = make_engine(
        settings.effective_database_url, sqlite_synchronous=settings.sqlite_synchronous
    )
    try:
        n = run_worker(
            Database(engine), once=once, poll=poll, log=lambda s: out.print(f"delivery {s}")
        )
    except KeyboardInterrupt:
        n = 0
    finally:
        engine.dispose()
    out.print(f"{n} deliveries tried.")
