"""kept totals: statistics targets of what the planner reads

Revision ID: 3f6d2a9c41b7
Revises: 498d1c07b29c
Create Date: 2026-12-07 06:20:00

PostgreSQL only (SQLite gathers no statistics unless asked). The kept totals and placements
grow with every push, so autovacuum analyzes them again and again while a census comes in
(each time a tenth more rows changed); each ANALYZE sampled 30,000 rows and built statistics
of every column, the school figures' JSON and the sums included, which no query filters, joins
or groups by. Here: no statistics for the columns only read out (sums, schools' counts,
figures, levels, the cell documents); a target of 10 for the columns queries pick or group
rows by (a split's id, element and key, a placement's return, school, year and place), whose
values are few or unique. The keys keep statistics: without them the planner takes a key for
200 characters wide (it is about 25) and plans the national sums' aggregate on disk. ANALYZE
of the totals of 6,000 schools went from about 125 ms to 12 ms, of their placements from about
85 ms to 15 ms.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "3f6d2a9c41b7"
down_revision: str | None = "498d1c07b29c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Columns of a placement that queries pick rows by (the keeper's reads, the lists of schools).
_PLACEMENT_PICKED = (
    "return_id school_id year form_code form_version revision unit_id ownership locality status"
)
# table -> {column: statistics target}; -1 is PostgreSQL's default (default_statistics_target)
TARGETS: dict[str, dict[str, int]] = {
    **{
        t: {"split_id": 10, "element": 10, "key": 10, "value": 0, "schools": 0}
        for t in ("indicator_sum", "flow_sum")
    },
    "indicator_placement": {
        **dict.fromkeys(_PLACEMENT_PICKED.split(), 10),
        "levels": 0,
        "figures": 0,
    },
    "indicator_cells": {"cells": 0},
}


def _set(targets: dict[str, dict[str, int]]) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in targets.items():
        alter = ", ".join(f'ALTER COLUMN "{c}" SET STATISTICS {n}' for c, n in columns.items())
        op.execute(f'ALTER TABLE "{table}" {alter}')


def upgrade() -> None:
    _set(TARGETS)


def downgrade() -> None:
    _set({t: dict.fromkeys(cols, -1) for t, cols in TARGETS.items()})
