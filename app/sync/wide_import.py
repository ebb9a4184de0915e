"""Historical returns from a ministry's own wide file (a row per school, a column per cell),
stored through the push use case: the same checks, revisions and exactly-once.

All or nothing for bad rows: every row is read and checked first (unknown school, a count that
is not a whole number ≥ 0, a structure error of the form); any problem rejects the file with the
list of them and nothing is stored. A row whose values equal the school's current revision is
left alone, so importing the same file again changes nothing; a changed row becomes a new
revision. Push ids derive from the content and the revision it builds on, so a run cut off
midway and started again stores each row once."""

import csv
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import yaml

from app.core.principal import Principal
from app.core.uow import Database, unit_of_work
from app.forms.canonical import canonical_values
from app.forms.service import FormCache
from app.registry import service as registry
from app.returns import service as returns
from app.sync.push import push

MAPPINGS_DIR = Path(__file__).resolve().parent / "mappings"
_NAMESPACE = uuid.UUID("6b1d3c52-8e0f-4d5e-9a57-5d2f0c7b9e11")


@dataclass(frozen=True)
class RowProblem:
    line: int
    column: str
    value: str
    reason: str


class ImportRejected(Exception):
    def __init__(self, errors: list[RowProblem]) -> None:
        super().__init__(f"{len(errors)} problem(s)")
        self.errors = errors


@dataclass(frozen=True)
class WideMapping:
    """Which column holds the school code and which cell each other column fills."""

    school: str
    cells: list[dict[str, Any]]
    form_version: int | None = None

    @classmethod
    def load(cls, path: Path) -> "WideMapping":
        if not path.exists() and (MAPPINGS_DIR / path.name).exists():
            path = MAPPINGS_DIR / path.name
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or "school" not in data or not data.get("cells"):
            raise ValueError("a mapping names the `school` column and lists `cells`")
        for c in data["cells"]:
            if not isinstance(c, dict) or "column" not in c or "element" not in c:
                raise ValueError(f"each cell names its `column` and `element`: {c!r}")
        return cls(str(data["school"]), list(data["cells"]), data.get("form_version"))


@dataclass
class ImportResult:
    rows: int = 0
    applied: int = 0
    unchanged: int = 0
    invalid: int = 0
    other: list[str] = field(default_factory=list)


def read_file(
    db: Database, path: Path, mapping: WideMapping, form: str, year: int, forms: FormCache
) -> tuple[int, list[dict[str, Any]], list[int]]:
    """(form version, push items without ids or bases, their lines); ImportRejected with
    every problem when any row is bad."""
    problems: list[RowProblem] = []
    with db.reader() as s:
        version = mapping.form_version or _latest_version(s, form) or 0
        compiled = forms.get(s, form, version) if version else None
        if compiled is None:
            raise ImportRejected(
                [RowProblem(0, "--form", form, f"no form {form!r} version {version} is loaded")]
            )
        if year not in registry.years_by_number(s):
            raise ImportRejected([RowProblem(0, "--year", str(year), "no such school year")])
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            missing = [c["column"] for c in mapping.cells if c["column"] not in header]
            if mapping.school not in header:
                missing.insert(0, mapping.school)
            if missing:
                raise ImportRejected(
                    [RowProblem(1, m, "", "column missing from the file") for m in missing]
                )
            rows = list(reader)
        known = registry.schools_by_code(s, {r[mapping.school].strip() for r in rows})
    items, lines = [], []
    seen: dict[str, int] = {}
    for n, row in enumerate(rows, start=2):
        code = (row.get(mapping.school) or "").strip()
        if code not in known:
            problems.append(RowProblem(n, mapping.school, code, "no school has this code"))
            continue
        if code in seen:
            problems.append(
                RowProblem(n, mapping.school, code, f"this school is also on line {seen[code]}")
            )
            continue
        seen[code] = n
        values: dict[str, Any] = {}
        for c in mapping.cells:
            raw = (row.get(c["column"]) or "").strip()
            if raw == "":
                continue  # missing, not 0
            try:
                number = int(raw)
            except ValueError:
                problems.append(RowProblem(n, c["column"], raw, "not a whole number"))
                continue
            dims = {k: v for k, v in c.items() if k not in ("column", "element")}
            element = c["element"]
            if dims:
                values.setdefault(element, []).append(
                    {**{k: str(v) for k, v in dims.items()}, "value": number}
                )
            else:
                values[element] = number
        checked = compiled.check(values)
        for e in checked.structure_errors:
            problems.append(RowProblem(n, e.path, "", e.message))
        items.append(
            {"form": form, "form_version": version, "year": year, "school": code, "values": values}
        )
        lines.append(n)
    if problems:
        raise ImportRejected(problems)
    return version, items, lines


def _latest_version(session: Any, form: str) -> int | None:
    from sqlalchemy import func, select
    from sqlmodel import col

    from app.forms.models import FormVersion

    found = session.scalar(
        select(func.max(FormVersion.version)).where(col(FormVersion.code) == form)
    )
    return int(found) if found is not None else None


def import_returns(
    db: Database,
    user: Principal,
    items: list[dict[str, Any]],
    forms: FormCache,
    progress: Callable[[int], None] | None = None,
    batch: int = 200,
) -> ImportResult:
    """Push the rows that differ from the schools' current revisions, a batch per unit of work."""
    result = ImportResult(rows=len(items))
    for i in range(0, len(items), batch):
        chunk = items[i : i + batch]
        todo = _changed(db, chunk, forms)
        result.unchanged += len(chunk) - len(todo)
        if todo:
            with unit_of_work(db, actor=user) as uow:
                results = push(uow, user, "wide-import", todo, forms, enforce_window=False)
            for r in results:
                if r.status in ("applied", "duplicate"):
                    result.applied += 1
                    result.invalid += r.return_status == "invalid"
                else:
                    result.other.append(f"{r.id}: {r.status} {[e.message for e in r.errors]}")
        if progress:
            progress(len(chunk))
    return result


def _changed(db: Database, chunk: list[dict[str, Any]], forms: FormCache) -> list[dict[str, Any]]:
    """The rows whose canonical values differ from the current revision, with ids and bases."""
    with db.reader() as s:
        ids = registry.schools_by_code(s, {it["school"] for it in chunk})
        states = {
            (st.form, st.year, st.school_id): st
            for st in returns.return_states_of_schools(
                s, [v[0] for v in ids.values()], {chunk[0]["year"]}
            )
        }
        current = returns.revision_values(s, {(st.id, st.revision) for st in states.values()})
        out = []
        for it in chunk:
            compiled = forms.get(s, it["form"], it["form_version"])
            assert compiled is not None
            values = canonical_values(compiled, it["values"])
            st = states.get((it["form"], it["year"], ids[it["school"]][0]))
            base = st.revision if st else 0
            if st is not None and current.get((st.id, st.revision)) == values:
                continue
            digest = hashlib.sha256(
                orjson.dumps([it["school"], it["year"], base, values], option=orjson.OPT_SORT_KEYS)
            ).hexdigest()
            out.append(
                {
                    **it,
                    "values": values,
                    "base_revision": base,
                    "id": str(uuid.uuid5(_NAMESPACE, digest)),
                }
            )
    return out
