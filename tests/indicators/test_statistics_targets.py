"""PostgreSQL: the kept totals' statistics targets (migration 3f6d2a9c41b7). Autovacuum analyzes
these tables again and again while a census comes in; what a DBA would check is that their
ANALYZE skips the columns no query picks rows by, keeps a small sample for those that do, and
that the keeper's reads still find their rows through the indexes."""

from alembic import command
from sqlalchemy import create_engine, text

from app.core.migrate import alembic_config

BEFORE = "498d1c07b29c"  # the revision before 3f6d2a9c41b7


def _targets(url: str) -> dict[tuple[str, str], int]:
    eng = create_engine(url)
    try:
        with eng.connect() as c:
            rows = c.execute(
                text(
                    "SELECT c.relname, a.attname, a.attstattarget FROM pg_attribute AS a "
                    "JOIN pg_class AS c ON c.oid = a.attrelid WHERE a.attnum > 0 "
                    "AND NOT a.attisdropped AND c.relname IN ('indicator_sum', 'flow_sum', "
                    "'indicator_placement', 'indicator_cells')"
                )
            ).all()
    finally:
        eng.dispose()
    return {(t, a): n for t, a, n in rows}


def test_analyze_skips_what_no_query_filters_and_samples_little(pg_factory):
    url = pg_factory.empty(migrate=True)
    got = _targets(url)
    for table in ("indicator_sum", "flow_sum"):
        assert got[(table, "split_id")] == got[(table, "element")] == got[(table, "key")] == 10
        assert got[(table, "value")] == got[(table, "schools")] == 0
    assert got[("indicator_placement", "figures")] == got[("indicator_placement", "levels")] == 0
    assert got[("indicator_placement", "school_id")] == 10
    assert got[("indicator_cells", "cells")] == 0
    assert got[("indicator_cells", "unit_id")] == -1  # untouched: the table is small

    eng = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with eng.connect() as c:
            c.execute(
                text(
                    "INSERT INTO indicator_sum (split_id, key, element, value, schools) "
                    "SELECT s, 'enrolment|P' || k || '|F', 'enrolment', k, 1 "
                    "FROM generate_series(1, 400) AS s, generate_series(1, 50) AS k"
                )
            )
            c.execute(text("ANALYZE indicator_sum"))
            stats = dict(
                c.execute(
                    text(
                        "SELECT attname, avg_width FROM pg_stats WHERE tablename = 'indicator_sum'"
                    )
                ).all()
            )
            plan = c.execute(
                text(
                    "EXPLAIN SELECT key, value FROM indicator_sum "
                    "WHERE split_id = ANY(:ids) AND element = 'enrolment'"
                ),
                {"ids": [3, 77, 201]},
            ).scalars()
            plan_text = "\n".join(plan)
    finally:
        eng.dispose()
    assert set(stats) == {"split_id", "element", "key"}  # no statistics of the other columns
    # the planner knows a key is short (without its statistics it takes 200 characters)
    assert stats["key"] < 40
    assert "Seq Scan" not in plan_text and "pk_indicator_sum" in plan_text


def test_downgrade_gives_the_defaults_back(pg_factory):
    url = pg_factory.empty(migrate=True)
    cfg = alembic_config(url)
    command.downgrade(cfg, BEFORE)
    assert set(_targets(url).values()) == {-1}
    command.upgrade(cfg, "head")
    assert _targets(url)[("indicator_sum", "value")] == 0
