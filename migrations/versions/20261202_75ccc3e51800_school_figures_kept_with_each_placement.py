"""school figures kept with each placement

Revision ID: 75ccc3e51800
Revises: bdf67b906343
Create Date: 2026-12-02 05:26:16.392204

Each counted return's own figures (pupils, girls, repeaters and teachers per level, pupils,
classrooms), so lists of schools never read revisions' cells. Existing rows start empty ({}) and
are read the slow way until `emis indicators rebuild` (or the return's next change) fills them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "75ccc3e51800"
down_revision: str | None = "bdf67b906343"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "indicator_placement",
        sa.Column(
            "figures",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            server_default="{}",
            nullable=False,
        ),
    )


def downgrade() -> None:
    op.drop_column("indicator_placement", "figures")
