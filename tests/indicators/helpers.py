"""Checks other test modules share: the kept totals equal a fresh count."""

from sqlalchemy import select

from app.core.db import make_engine
from app.core.uow import Database
from app.indicators.keep import delta_rows, kept_rows, recount, table_rows
from app.indicators.models import FlowTotal, IndicatorPlacement


def assert_totals_match_a_recount(url: str) -> None:
    db = Database(make_engine(url))
    try:
        with db.reader() as s:
            one_year, flows, placements = recount(s)
            assert placements, "nothing was counted"
            assert kept_rows(s) == delta_rows(one_year)
            assert table_rows(s, FlowTotal) == delta_rows(flows)
            # Each school's own figures (lists of schools read them) as a recount makes them.
            kept = {
                rid: figures
                for rid, figures in s.execute(
                    select(IndicatorPlacement.return_id, IndicatorPlacement.figures)
                )
            }
            assert kept == {p.return_id: p.figures for p in placements}
    finally:
        db.engine.dispose()
