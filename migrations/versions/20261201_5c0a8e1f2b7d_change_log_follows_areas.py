"""the change log is append-only and follows areas

Each row now stands for one change of one entity in one area: the unique (entity_type,
entity_key) goes, moves append a delete under the old area and an upsert under the new one, a
school's row can carry its returns (`with_dependents`), and rows know when they were recorded
(compaction by age). Existing rows are each entity's latest change and stay as they are.

Revision ID: 5c0a8e1f2b7d
Revises: 02b091ecd6db
Create Date: 2026-12-01 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.types

revision: str = "5c0a8e1f2b7d"
down_revision: str | None = "02b091ecd6db"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sync_change", schema=None) as batch_op:
        batch_op.drop_constraint("uq_sync_change_entity_type_entity_key", type_="unique")
        batch_op.add_column(
            sa.Column("with_dependents", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("recorded_at", app.core.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            "ix_sync_change_entity", ["entity_type", "entity_key", "seq"], unique=False
        )


def downgrade() -> None:
    # Keep each entity's latest row only, as the old unique constraint demands.
    op.execute(
        "DELETE FROM sync_change WHERE seq < (SELECT max(l.seq) FROM sync_change l "
        "WHERE l.entity_type = sync_change.entity_type AND l.entity_key = sync_change.entity_key)"
    )
    with op.batch_alter_table("sync_change", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_change_entity")
        batch_op.drop_column("recorded_at")
        batch_op.drop_column("with_dependents")
        batch_op.create_unique_constraint(
            "uq_sync_change_entity_type_entity_key", ["entity_type", "entity_key"]
        )
