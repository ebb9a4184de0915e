"""Form definitions in the database: load (immutable per version), list, get, compile once."""

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.core.audit import note_audit
from app.core.changelog import Change, note_changes
from app.core.db import database_of
from app.core.errors import Conflict, InvalidInput, NotFound
from app.forms.checking import (
    STANDARD_FORM_PATH,
    STANDARD_FORM_PATHS,
    CompiledForm,
    DefinitionError,
    FormDefinition,
    compile_form,
    load_definition_file,
    parse_definition,
    text_in,
)
from app.forms.models import FormVersion


def _hash(definition: dict[str, Any]) -> str:
    return hashlib.sha256(
        json.dumps(definition, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


def store_definition(session: Session, defn: FormDefinition) -> tuple[FormVersion, bool]:
    """Store a checked definition; the same content again is a no-op, other content is refused."""
    data = defn.model_dump(mode="json")
    digest = _hash(data)
    row = session.get(FormVersion, (defn.code, defn.version))
    if row is not None:
        if row.content_hash != digest:
            raise Conflict(
                f"Form {defn.code} version {defn.version} is already loaded with other content; "
                f"a loaded version never changes. Give the new content version {defn.version + 1}."
            )
        return row, False
    title = text_in(defn.title, "en")[:200]  # the column is plain text; the definition keeps both
    row = FormVersion(
        code=defn.code, version=defn.version, title=title, definition=data, content_hash=digest
    )
    session.add(row)
    session.flush()
    note_changes(session, [Change("form", f"{defn.code}/{defn.version}")])
    note_audit(session, "form.load", f"{defn.code}/{defn.version}", hash=digest[:16])
    return row, True


def load_form_file(session: Session, path: Path) -> tuple[FormVersion, bool]:
    """Check and store a definition file (JSON or YAML)."""
    try:
        defn = load_definition_file(path)
    except DefinitionError as exc:
        raise InvalidInput(
            f"The form definition in {path.name} is not valid "
            f"({len(exc.problems)} problem{'s' if len(exc.problems) != 1 else ''}).",
            [_problem(p, path.name) for p in exc.problems],
        ) from exc
    return store_definition(session, defn)


def _problem(text: str, file_name: str) -> dict[str, str]:
    """A definition problem ("rule R: unknown element 'x'") as an error item: where, then what."""
    where, sep, what = text.partition(": ")
    if not sep:
        where, what = file_name, text
    return {"code": "INVALID_DEFINITION", "path": where, "message": what}


def load_standard_form(session: Session) -> tuple[FormVersion, bool]:
    """Version 1 of the standard annual school census shipped with the package (only that one:
    `load_standard_forms` loads every shipped version)."""
    return load_form_file(session, STANDARD_FORM_PATH)


def load_standard_forms(
    session: Session, *, up_to: int | None = None
) -> list[tuple[FormVersion, bool]]:
    """Every shipped version of the standard annual school census (or those up to `up_to`), in
    version order; each already loaded with the same content is a no-op."""
    paths = STANDARD_FORM_PATHS[:up_to] if up_to is not None else STANDARD_FORM_PATHS
    return [load_form_file(session, path) for path in paths]


def list_forms(session: Session) -> list[FormVersion]:
    return list(
        session.scalars(
            select(FormVersion).order_by(col(FormVersion.code), col(FormVersion.version))
        )
    )


def get_form_row(session: Session, code: str, version: int) -> FormVersion:
    row = session.get(FormVersion, (code, version))
    if row is None:
        raise NotFound(f"No form {code!r} version {version}.")
    return row


@lru_cache(maxsize=64)
def _compiled(code: str, version: int, content_hash: str, definition_json: str) -> CompiledForm:
    return compile_form(parse_definition(json.loads(definition_json)))


def compiled_form(row: FormVersion) -> CompiledForm:
    """The compiled checker for a stored version (cached: versions are immutable)."""
    return _compiled(row.code, row.version, row.content_hash, json.dumps(row.definition))


class FormCache:
    """Per-process cache of compiled forms keyed by (database, code, version)."""

    def __init__(self) -> None:
        self._forms: dict[tuple[str, str, int], CompiledForm] = {}

    def get(self, session: Session, code: str, version: int) -> CompiledForm | None:
        key = (database_of(session), code, version)
        if key not in self._forms:
            row = session.get(FormVersion, (code, version))
            if row is None:
                return None
            self._forms[key] = compiled_form(row)
        return self._forms[key]
