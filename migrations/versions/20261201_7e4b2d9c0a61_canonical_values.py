"""revision values in one canonical form, content hashes over that form

The engine accepts a return's cells in any order and numeric options as text or numbers; a
revision now stores its values as `app.forms.canonical` writes them, and its content hash is
computed over that form (so a retry re-serialised by a client is `duplicate`). Each stored
revision is rewritten from its own form version's definition, in batches, on SQLite and
PostgreSQL alike; values the engine cannot read (none should be stored) are left as they are.

Offline (`--sql`) this is a no-op with a note: it needs the engine, which SQL cannot run. Values
stored the old way still read and check as before; only a retry of such an old change with
other cell order would answer ID_REUSED instead of duplicate.

Downgrade keeps the canonical values (they are the same cells) and their hashes.

Revision ID: 7e4b2d9c0a61
Revises: 1dd12a0a2d7d
Create Date: 2026-12-01 21:45:00
"""

import hashlib
from collections.abc import Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import context, op

revision: str = "7e4b2d9c0a61"
down_revision: str | None = "1dd12a0a2d7d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 500

_revision = sa.table(
    "return_revision",
    sa.column("id", sa.Integer),
    sa.column("return_id", sa.Integer),
    sa.column("revision", sa.Integer),
    sa.column("form_version", sa.Integer),
    sa.column("values", sa.JSON),
    sa.column("content_hash", sa.String),
)
_return = sa.table(
    "census_return",
    sa.column("id", sa.Integer),
    sa.column("form_code", sa.String),
    sa.column("year", sa.Integer),
    sa.column("school_id", sa.Integer),
)
_school = sa.table("school", sa.column("id", sa.Integer), sa.column("code", sa.String))
_form = sa.table(
    "form_version",
    sa.column("code", sa.String),
    sa.column("version", sa.Integer),
    sa.column("definition", sa.JSON),
)


def _hash(form: str, version: int, year: int, school: str, base: int, values: Any) -> str:
    # The same formula as app.returns.service.content_hash, frozen here.
    blob = orjson.dumps([form, version, year, school, base, values], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(blob).hexdigest()


def upgrade() -> None:
    if context.is_offline_mode():
        op.execute("-- canonical values: run this revision online to rewrite stored values")
        return
    from app.forms.canonical import canonical_values
    from app.forms.checking import compile_form, parse_definition

    conn = op.get_bind()
    forms: dict[tuple[str, int], Any] = {}
    for code, version, definition in conn.execute(
        sa.select(_form.c.code, _form.c.version, _form.c.definition)
    ):
        data = definition if isinstance(definition, dict) else orjson.loads(definition)
        try:
            forms[(code, version)] = compile_form(parse_definition(data))
        except Exception:  # a definition that no longer compiles: its values stay as they are
            continue
    last = 0
    while True:
        rows = conn.execute(
            sa.select(
                _revision.c.id,
                _revision.c.revision,
                _revision.c.form_version,
                _revision.c["values"],
                _return.c.form_code,
                _return.c.year,
                _school.c.code,
            )
            .join(_return, _return.c.id == _revision.c.return_id)
            .join(_school, _school.c.id == _return.c.school_id)
            .where(_revision.c.id > last)
            .order_by(_revision.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        updates = []
        for rid, number, version, values, form_code, year, school in rows:
            form = forms.get((form_code, version))
            if form is None:
                continue
            raw = values if not isinstance(values, str) else orjson.loads(values)
            canonical = canonical_values(form, raw)
            updates.append(
                {
                    "b_id": rid,
                    "b_values": canonical,
                    "b_hash": _hash(form_code, version, year, school, number - 1, canonical),
                }
            )
        if updates:
            conn.execute(
                _revision.update()
                .where(_revision.c.id == sa.bindparam("b_id"))
                .values({"values": sa.bindparam("b_values"), "content_hash": sa.bindparam("b_hash")}),
                updates,
            )
        last = rows[-1][0]


def downgrade() -> None:
    pass
