"""indicator totals keyed by split

Revision ID: 498d1c07b29c
Revises: 75ccc3e51800
Create Date: 2026-12-03 18:57:09.241677

The kept totals move from tables keyed by eight columns (year, form, element, unit, key, status,
ownership, locality) to tables keyed by (split, key), the split (leaf unit, year, form, status,
ownership, locality) in its own table: a push inserts thousands of total rows, and the narrow
key halves what each costs. Every existing total is copied, so nothing needs rebuilding.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "498d1c07b29c"
down_revision: str | None = "75ccc3e51800"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PLACE = "year, form_code, unit_id, status, ownership, locality"
SAME_PLACE = " AND ".join(f"s.{c} = t.{c}" for c in PLACE.split(", "))


def _sum_table(name: str) -> None:
    op.create_table(
        name,
        sa.Column("split_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("element", sa.String(length=64), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("schools", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("split_id", "key", name=op.f(f"pk_{name}")),
    )


def _wide_table(name: str) -> None:
    op.create_table(
        name,
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("form_code", sa.String(length=64), nullable=False),
        sa.Column("element", sa.String(length=64), nullable=False),
        sa.Column("unit_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("ownership", sa.String(length=32), nullable=False),
        sa.Column("locality", sa.String(length=16), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("schools", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "year", "form_code", "element", "unit_id", "key", "status", "ownership", "locality",
            name=op.f(f"pk_{name}"),
        ),
    )  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "indicator_split",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("form_code", sa.String(length=64), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("ownership", sa.String(length=32), nullable=False),
        sa.Column("locality", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator_split")),
    )
    op.create_index(
        "ux_indicator_split_place",
        "indicator_split",
        ["year", "form_code", "status", "unit_id", "ownership", "locality"],
        unique=True,
    )
    _sum_table("indicator_sum")
    _sum_table("flow_sum")
    op.execute(
        f"INSERT INTO indicator_split ({PLACE}) SELECT DISTINCT {PLACE} FROM ("
        f"SELECT {PLACE} FROM indicator_total UNION SELECT {PLACE} FROM flow_total) AS p "
        f"ORDER BY {PLACE}"
    )
    for old, new in (("indicator_total", "indicator_sum"), ("flow_total", "flow_sum")):
        op.execute(
            f"INSERT INTO {new} (split_id, key, element, value, schools) "
            f"SELECT s.id, t.key, t.element, t.value, t.schools FROM {old} AS t "
            f"JOIN indicator_split AS s ON {SAME_PLACE}"
        )
        op.drop_table(old)


def downgrade() -> None:
    _wide_table("indicator_total")
    _wide_table("flow_total")
    for old, new in (("indicator_total", "indicator_sum"), ("flow_total", "flow_sum")):
        op.execute(
            f"INSERT INTO {old} ({PLACE}, element, key, value, schools) "
            f"SELECT s.year, s.form_code, s.unit_id, s.status, s.ownership, s.locality, "
            f"t.element, t.key, t.value, t.schools FROM {new} AS t "
            f"JOIN indicator_split AS s ON s.id = t.split_id"
        )
        op.drop_table(new)
    op.drop_index("ux_indicator_split_place", table_name="indicator_split")
    op.drop_table("indicator_split")
