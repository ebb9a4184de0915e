"""revision values, errors and warnings as plain JSON text on PostgreSQL

Revisions are written often and read whole; JSONB costs about three times as much to store.
SQLite already keeps JSON as text, so only PostgreSQL changes.

Revision ID: 02b091ecd6db
Revises: ff49c10569d3
Create Date: 2026-11-23 08:03:09.470329
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "02b091ecd6db"
down_revision: str | None = "ff49c10569d3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("values", "errors", "warnings")


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    for column in COLUMNS:
        op.alter_column(
            "return_revision",
            column,
            existing_type=postgresql.JSONB(astext_type=sa.Text()),
            type_=sa.JSON(),
            existing_nullable=False,
            postgresql_using=f'"{column}"::json',
        )


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    for column in COLUMNS:
        op.alter_column(
            "return_revision",
            column,
            existing_type=sa.JSON(),
            type_=postgresql.JSONB(astext_type=sa.Text()),
            existing_nullable=False,
            postgresql_using=f'"{column}"::jsonb',
        )
