"""`emis indicators`: the kept totals behind aggregates and indicators."""

import typer

from app.cli.common import command_session, fail, out, progress_bar

indicators_app = typer.Typer(
    help="The totals aggregates and indicators are read from.", no_args_is_help=True
)


@indicators_app.command("rebuild")
def indicators_rebuild() -> None:
    """Recompute every kept total from the returns' current revisions (after a change of the
    education structure, or to repair; the totals are otherwise kept current on every push)."""
    from app.indicators.keep import rebuild
    from app.returns.service import count_by_status

    with command_session() as session, progress_bar() as bar:
        total = sum(n for _, n in count_by_status(session))
        task = bar.add_task("Counting returns", total=total)
        counted = rebuild(session, lambda n: bar.advance(task, n))
    out.print(f"[green]Rebuilt[/] the totals from {counted} return(s).")


@indicators_app.command("check")
def indicators_check() -> None:
    """Compare the kept totals with a fresh count from the returns (writes nothing); exit 1
    when they differ."""
    from app.indicators.keep import delta_rows, kept_rows, recount, table_rows
    from app.indicators.models import FlowTotal

    with command_session() as session:
        one_year, flows, placements = recount(session)
        drift = []
        for name, kept, fresh in (
            ("one-year", kept_rows(session), one_year),
            ("flow", table_rows(session, FlowTotal), flows),
        ):
            want = delta_rows(fresh)
            bad = {k for k in kept.keys() | want.keys() if kept.get(k) != want.get(k)}
            if bad:
                drift.append(f"{len(bad)} {name} total(s) differ, e.g. {sorted(bad)[0]}")
    if drift:
        fail("; ".join(drift), "Run: emis indicators rebuild")
    out.print(f"[green]The kept totals match[/] a fresh count of {len(placements)} return(s).")
