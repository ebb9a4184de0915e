"""stored findings as data: {code, path, severity, params}, rendered when read

Revisions kept each finding's text (`message`, and since November `messages` in en and fr);
now they keep its params and `app.i18n` renders it in the reader's language. Texts cannot be
parsed back into params reliably, so each revision with text findings is checked again by the
engine (its values, its form version's definition, and as `previous` the values of the same
school's return of the year before), and a regenerated finding replaces a stored one only when
it is the same finding: same code, path and severity, and it renders to exactly the stored
text in every language kept. Any other finding (the engine or the previous year changed since,
a definition that no longer compiles) keeps its text, as params `{"template": "STORED_TEXT",
"text": {...}}`, which renders it as before; the list, its order and the revision's status
never change. Batches of BATCH revisions, on SQLite and PostgreSQL alike.

Offline (`--sql`) this is a no-op with a note in the script: the conversion needs the engine,
which SQL cannot run. A database upgraded offline keeps its findings as text and works, since
readers take both shapes (`app.i18n.render_finding`); to convert them later, run this revision
online (`alembic downgrade 5c0a8e1f2b7d`, a no-op on text findings, then `emis db upgrade`).

Downgrade writes the legacy shape back: `message` in English and `messages` in every language
of the catalogues.

Revision ID: 1dd12a0a2d7d
Revises: 5c0a8e1f2b7d
Create Date: 2026-12-01 20:05:00
"""

import logging
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "1dd12a0a2d7d"
down_revision: str | None = "5c0a8e1f2b7d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 500
log = logging.getLogger("alembic.runtime.migration")

_revision = sa.table(
    "return_revision",
    sa.column("id", sa.Integer),
    sa.column("return_id", sa.Integer),
    sa.column("revision", sa.Integer),
    sa.column("form_version", sa.Integer),
    sa.column("values", sa.JSON),
    sa.column("errors", sa.JSON),
    sa.column("warnings", sa.JSON),
)
_return = sa.table(
    "census_return",
    sa.column("id", sa.Integer),
    sa.column("form_code", sa.String),
    sa.column("year", sa.Integer),
    sa.column("school_id", sa.Integer),
    sa.column("revision", sa.Integer),
)
_form = sa.table(
    "form_version",
    sa.column("code", sa.String),
    sa.column("version", sa.Integer),
    sa.column("definition", sa.JSON().with_variant(postgresql.JSONB(), "postgresql")),
)
_save = (
    sa.update(_revision)
    .where(_revision.c.id == sa.bindparam("rid"))
    .values(
        errors=sa.bindparam("new_errors", type_=sa.JSON()),
        warnings=sa.bindparam("new_warnings", type_=sa.JSON()),
    )
)


def _offline(direction: str) -> bool:
    if not op.get_context().as_sql:
        return False
    op.execute(
        f"-- 1dd12a0a2d7d ({direction}): stored findings are converted by the check engine, "
        "which offline SQL cannot run; nothing is changed here. Readers take both shapes. "
        "Run `emis db upgrade` online to convert them"
    )
    return True


def _is_text(f: Any) -> bool:
    return isinstance(f, dict) and "params" not in f


def _batches(bind: sa.Connection) -> Any:
    """(revision rows, their returns) by id, BATCH at a time."""
    last = 0
    while True:
        rows = bind.execute(
            sa.select(
                _revision.c.id,
                _revision.c.form_version,
                _revision.c["values"].label("vals"),  # `.c.values` is the collection's method
                _revision.c.errors,
                _revision.c.warnings,
                _return.c.form_code,
                _return.c.year,
                _return.c.school_id,
            )
            .join(_return, _return.c.id == _revision.c.return_id)
            .where(_revision.c.id > last)
            .order_by(_revision.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        last = rows[-1].id
        yield rows


def _previous_values(bind: sa.Connection, rows: list[Any]) -> dict[tuple[str, int, int], Any]:
    """The current values of each (form, year, school)'s return a year before the rows'."""
    schools = {r.school_id for r in rows}
    years = {r.year - 1 for r in rows}
    found = bind.execute(
        sa.select(_return.c.form_code, _return.c.year, _return.c.school_id, _revision.c["values"])
        .join(
            _revision,
            sa.and_(
                _revision.c.return_id == _return.c.id,
                _revision.c.revision == _return.c.revision,
            ),
        )
        .where(_return.c.school_id.in_(schools), _return.c.year.in_(years))
    ).all()
    return {(f, y + 1, s): v for f, y, s, v in found}


def _kept_text(f: dict[str, Any], severity: str) -> dict[str, Any]:
    kept = f.get("messages")
    text = dict(kept) if isinstance(kept, dict) and kept else str(f.get("message", ""))
    return {
        "code": f.get("code", ""),
        "path": f.get("path", ""),
        "severity": f.get("severity") or severity,
        "params": {"template": "STORED_TEXT", "text": text},
    }


def _same_text(f: dict[str, Any], g: Any, languages: tuple[str, ...]) -> bool:
    kept = f.get("messages")
    if isinstance(kept, dict) and kept:
        return all(g.in_language(lang) == text for lang, text in kept.items())
    return f.get("message") in {g.in_language(lang) for lang in languages}


def _convert(
    stored: list[Any], regenerated: list[Any], severity: str, languages: tuple[str, ...]
) -> tuple[list[Any], int]:
    """The stored list with each text finding as data where the engine gave the same one
    again, else as its kept text; and how many kept their text."""
    pool = list(regenerated)
    out: list[Any] = []
    kept = 0
    for f in stored:
        if not _is_text(f):
            out.append(f)
            continue
        match = next(
            (
                i
                for i, g in enumerate(pool)
                if g.code == f.get("code")
                and g.path == f.get("path")
                and g.severity == (f.get("severity") or severity)
                and _same_text(f, g, languages)
            ),
            None,
        )
        if match is None:
            out.append(_kept_text(f, severity))
            kept += 1
        else:
            out.append(pool.pop(match).as_stored())
    return out, kept


def upgrade() -> None:
    if _offline("upgrade"):
        return
    from app.forms.checking import compile_form, parse_definition
    from app.i18n import LANGUAGES

    bind = op.get_bind()
    forms: dict[tuple[str, int], Any] = {}
    converted = kept = 0
    for rows in _batches(bind):
        todo = [r for r in rows if any(map(_is_text, [*r.errors, *r.warnings]))]
        if not todo:
            continue
        previous = _previous_values(bind, todo)
        updates = []
        for r in todo:
            key = (r.form_code, r.form_version)
            if key not in forms:
                definition = bind.execute(
                    sa.select(_form.c.definition).where(
                        _form.c.code == r.form_code, _form.c.version == r.form_version
                    )
                ).scalar()
                try:
                    forms[key] = compile_form(parse_definition(definition))
                except Exception:  # a definition today's engine refuses: texts are kept
                    forms[key] = None
            form = forms[key]
            try:
                result = form.check(r.vals, previous.get((r.form_code, r.year, r.school_id)))
                again_errors, again_warnings = result.rule_errors, result.warnings
            except Exception:  # values today's engine cannot check: texts are kept
                again_errors, again_warnings = [], []
            errors, k1 = _convert(r.errors, again_errors, "error", LANGUAGES)
            warnings, k2 = _convert(r.warnings, again_warnings, "warning", LANGUAGES)
            updates.append({"rid": r.id, "new_errors": errors, "new_warnings": warnings})
            converted += 1
            kept += k1 + k2
        bind.execute(_save, updates)
    log.info(
        "Findings as data: %d revisions converted, %d findings kept their stored text.",
        converted,
        kept,
    )


def _legacy(f: Any, languages: tuple[str, ...]) -> Any:
    from app.i18n import render_finding

    if _is_text(f) or not isinstance(f, dict):
        return f
    texts = {lang: render_finding(f, lang)["message"] for lang in languages}
    return {
        "code": f.get("code", ""),
        "path": f.get("path", ""),
        "message": texts["en"],
        "severity": f.get("severity"),
        "messages": texts,
    }


def downgrade() -> None:
    if _offline("downgrade"):
        return
    from app.i18n import LANGUAGES

    bind = op.get_bind()
    for rows in _batches(bind):
        updates = [
            {
                "rid": r.id,
                "new_errors": [_legacy(f, LANGUAGES) for f in r.errors],
                "new_warnings": [_legacy(f, LANGUAGES) for f in r.warnings],
            }
            for r in rows
            if not all(map(_is_text, [*r.errors, *r.warnings]))
        ]
        if updates:
            bind.execute(_save, updates)
