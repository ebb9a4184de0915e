"""CSV import of registry files: all-or-nothing per file, every bad row reported.

Our own column layouts (see `emis registry import --help`) import as they are; a ministry's own
file imports through a small YAML column mapping that can also build the admin tree from
hierarchy columns (region → division → district …)."""

import csv
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlmodel
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.text import CODE_RULE, is_code
from app.registry import service
from app.registry.models import AdminUnit
from app.registry.schemas import Locality, Ownership, SchoolStatus

KINDS = ("units", "schools", "population", "years")
_REQUIRED = {
    "units": ("code", "name", "level_name", "parent"),
    "schools": ("code", "name", "unit", "ownership"),
    "population": ("unit", "year", "age", "sex", "value"),
    "years": ("year", "label", "reference_date", "window_opens", "window_closes"),
}


@dataclass(frozen=True)
class RowError:
    """One problem in one cell of the file."""

    line: int
    column: str
    value: str
    reason: str


class ImportRejected(Exception):
    """The file was not imported; `errors` lists every bad row."""

    def __init__(self, errors: list[RowError], message: str = "") -> None:
        super().__init__(message or f"{len(errors)} problem(s) in the file; nothing was imported.")
        self.errors = errors


@dataclass
class ImportReport:
    kind: str
    rows: int
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    units: dict[str, int] = field(default_factory=dict)


# ------------------------------------------------------------------ mapping


@dataclass
class FieldMap:
    column: str | None = None
    constant: Any = None
    values: dict[str, str] | None = None

    def get(self, row: dict[str, str]) -> tuple[str, str]:
        """(raw value, mapped value)."""
        if self.column is None:
            return "", "" if self.constant is None else str(self.constant)
        raw = (row.get(self.column) or "").strip()
        if self.values is not None:
            return raw, self.values.get(raw, self.values.get("*", raw))
        return raw, raw


@dataclass
class Mapping:
    """How a foreign file's columns become our fields."""

    fields: dict[str, FieldMap]
    attributes: list[str] = field(default_factory=list)
    root: dict[str, str] | None = None
    levels: list[dict[str, str]] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> "Mapping":
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        fields: dict[str, FieldMap] = {}
        for name, spec in (data.get("columns") or {}).items():
            if spec is None:
                fields[name] = FieldMap()
            elif isinstance(spec, str):
                fields[name] = FieldMap(column=spec)
            elif isinstance(spec, dict):
                fields[name] = FieldMap(
                    column=spec.get("column"),
                    constant=spec.get("value"),
                    values={str(k): str(v) for k, v in (spec.get("values") or {}).items()} or None,
                )
            else:
                raise ValueError(f"mapping for {name!r} must be a column name or a table")
        units = data.get("units") or {}
        return cls(
            fields=fields,
            attributes=list(data.get("attributes") or []),
            root=units.get("root"),
            levels=list(units.get("levels") or []),
        )

    def columns_needed(self) -> list[str]:
        cols = [f.column for f in self.fields.values() if f.column]
        cols += [lv[k] for lv in self.levels for k in ("name", "code") if lv.get(k)]
        return cols + self.attributes


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").upper() or "X"


def derived_code(parent_code: str | None, name: str) -> str:
    code = f"{parent_code}-{slug(name)}" if parent_code else slug(name)
    if len(code) > 64:
        code = code[:55] + "-" + hashlib.sha1(code.encode()).hexdigest()[:8].upper()
    return code


# ------------------------------------------------------------------ reading


def _read(path: Path, delimiter: str) -> tuple[list[tuple[int, dict[str, str]]], list[RowError]]:
    """(line, row) for every row whose field count matches the header, and an error for every
    row that has fewer or more fields (a stray delimiter or a missing one shifts the values
    into the wrong columns, so such a row is never imported)."""
    rows: list[tuple[int, dict[str, str]]] = []
    errors: list[RowError] = []
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh, delimiter=delimiter)
        if not reader.fieldnames:
            raise ImportRejected([RowError(1, "", "", "the file is empty or has no header line")])
        header = list(reader.fieldnames)
        start = reader.line_num + 1
        for row in reader:
            extra = row.pop(None, None)
            given = [h for h in header if row.get(h) is not None]
            n = len(given) + len(extra or [])
            if extra:
                errors.append(
                    RowError(
                        start,
                        f"field {len(header) + 1}",
                        delimiter.join(str(x) for x in extra),
                        f"row has {n} fields, the header has {len(header)}",
                    )
                )
            elif n < len(header):
                errors.append(
                    RowError(
                        start,
                        header[n].strip(),
                        "",
                        f"row has {n} fields, the header has {len(header)}",
                    )
                )
            else:
                rows.append((start, row))  # no None left
            start = reader.line_num + 1
    return rows, errors


def _header(path: Path, delimiter: str) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return [h.strip() for h in next(csv.reader(fh, delimiter=delimiter), [])]


def _as_int(errors: list[RowError], line: int, col: str, raw: str, lo: int = 0) -> int | None:
    try:
        value = int(raw)
    except ValueError:
        errors.append(RowError(line, col, raw, "not a whole number"))
        return None
    if value < lo:
        errors.append(RowError(line, col, raw, f"must be at least {lo}"))
        return None
    return value


def _as_datetime(errors: list[RowError], line: int, col: str, raw: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        errors.append(
            RowError(line, col, raw, "not an RFC 3339 time stamp (2025-11-01T00:00:00+00:00)")
        )
        return None
    if value.tzinfo is None:
        errors.append(RowError(line, col, raw, "needs a time zone, e.g. +00:00 or Z"))
        return None
    return value


def _check_code(errors: list[RowError], line: int, col: str, raw: str) -> bool:
    if not raw:
        errors.append(RowError(line, col, raw, "is empty"))
        return False
    if not is_code(raw):
        errors.append(RowError(line, col, raw, CODE_RULE))
        return False
    return True


# ------------------------------------------------------------------ kinds


def import_file(
    session: Session,
    kind: str,
    path: Path,
    mapping: Mapping | None = None,
    delimiter: str = ",",
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Validate the whole file, then write it in the caller's transaction; raise ImportRejected
    with every bad row (and write nothing) if any row is bad."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    header = _header(path, delimiter)
    needed = mapping.columns_needed() if mapping else list(_REQUIRED[kind])
    missing = [c for c in needed if c not in header]
    if missing:
        raise ImportRejected(
            [RowError(1, c, "", "column missing from the header line") for c in missing]
        )
    rows, shape_errors = _read(path, delimiter)
    if progress:
        progress(0)
    handler = {"units": _units, "schools": _schools, "population": _population, "years": _years}[
        kind
    ]
    try:
        # Rows of the wrong shape are left out of the checks but still stop the import: the
        # handler raises before it writes anything when `errors` is not empty.
        return handler(session, rows, mapping, progress, shape_errors)
    except ImportRejected as rejected:
        raise ImportRejected(sorted(rejected.errors, key=lambda e: e.line)) from None


def _tick(progress: Callable[[int], None] | None, n: int) -> None:
    if progress and n:
        progress(n)


def _units(
    session: Session,
    rows: list[tuple[int, dict[str, str]]],
    _m: Mapping | None,
    progress: Callable[[int], None] | None,
    errors: list[RowError],
) -> ImportReport:
    known = set(session.scalars(select(sqlmodel.col(AdminUnit.code))))
    in_file: dict[str, int] = {}
    out = []
    for line, r in rows:
        code = (r.get("code") or "").strip()
        name = (r.get("name") or "").strip()
        level_name = (r.get("level_name") or "").strip()
        parent = (r.get("parent") or "").strip() or None
        ok = _check_code(errors, line, "code", code)
        if ok and code in in_file:
            errors.append(
                RowError(line, "code", code, f"duplicate: already on line {in_file[code]}")
            )
            ok = False
        if not name:
            errors.append(RowError(line, "name", name, "is empty"))
            ok = False
        if not level_name:
            errors.append(RowError(line, "level_name", level_name, "is empty"))
            ok = False
        if ok:
            in_file[code] = line
            out.append(
                (line, {"code": code, "name": name, "level_name": level_name, "parent": parent})
            )
    for line, unit in out:
        if unit["parent"] and unit["parent"] not in known and unit["parent"] not in in_file:
            errors.append(RowError(line, "parent", unit["parent"], "no admin unit has this code"))
    if errors:
        raise ImportRejected(errors)
    counts = service.upsert_units(session, [r for _, r in out])
    _tick(progress, len(rows))
    return ImportReport("units", len(rows), counts.created, counts.updated, counts.unchanged)


def _schools(
    session: Session,
    rows: list[tuple[int, dict[str, str]]],
    mapping: Mapping | None,
    progress: Callable[[int], None] | None,
    errors: list[RowError],
) -> ImportReport:
    m = mapping or Mapping(
        fields={
            k: FieldMap(column=k)
            for k in ("code", "name", "unit", "ownership", "locality", "levels", "status")
        }
    )
    known_units = set(session.scalars(select(sqlmodel.col(AdminUnit.code))))
    levels_known = service.known_level_codes(session)
    tree = _tree_builder(session, m) if m.levels else None
    seen: dict[str, int] = {}
    out = []

    def field_of(name: str, r: dict[str, str]) -> tuple[str, str, str]:
        fm = m.fields.get(name)
        if fm is None:
            return name, "", ""
        raw, value = fm.get(r)
        return fm.column or name, raw, value

    for n, (line, r) in enumerate(rows, 1):
        row_errors: list[RowError] = []
        col, raw, code = field_of("code", r)
        if _check_code(row_errors, line, col, code) and code in seen:
            row_errors.append(
                RowError(line, col, code, f"duplicate school code: already on line {seen[code]}")
            )
        col, raw, name = field_of("name", r)
        if not name:
            row_errors.append(RowError(line, col, raw, "is empty"))
        if tree is not None:
            unit = tree.unit_for(line, r, row_errors)
        else:
            col, raw, unit = field_of("unit", r)
            if not unit:
                row_errors.append(RowError(line, col, raw, "is empty"))
            elif unit not in known_units:
                row_errors.append(RowError(line, col, raw, "no admin unit has this code"))
        col, raw, ownership = field_of("ownership", r)
        if ownership not in Ownership.__members__:
            row_errors.append(
                RowError(line, col, raw, f"ownership must be one of {', '.join(Ownership)}")
            )
        col, raw, locality = field_of("locality", r)
        if locality and locality not in Locality.__members__:
            row_errors.append(RowError(line, col, raw, "locality must be urban, rural or empty"))
        col, raw, levels_raw = field_of("levels", r)
        levels = [x.strip() for x in re.split(r"[;|]", levels_raw) if x.strip()]
        bad = [x for x in levels if x not in levels_known]
        if bad:
            row_errors.append(
                RowError(
                    line,
                    col,
                    raw,
                    f"unknown level(s) {', '.join(bad)}; known: {', '.join(sorted(levels_known))}",
                )
            )
        col, raw, status = field_of("status", r)
        status = status or "open"
        if status not in SchoolStatus.__members__:
            row_errors.append(RowError(line, col, raw, "status must be open or closed"))
        if row_errors:
            errors.extend(row_errors)
            continue
        seen[code] = line
        attributes = {a: (r.get(a) or "").strip() for a in m.attributes}
        out.append(
            {
                "code": code,
                "name": name,
                "unit": unit,
                "ownership": ownership,
                "locality": locality or None,
                "levels": levels,
                "status": status,
                "attributes": attributes,
            }
        )
        if n % 1000 == 0:
            _tick(progress, 500)
    if errors:
        raise ImportRejected(errors)
    report = ImportReport("schools", len(rows))
    if tree is not None:
        unit_counts = service.upsert_units(session, tree.rows())
        report.units = {
            "created": unit_counts.created,
            "updated": unit_counts.updated,
            "unchanged": unit_counts.unchanged,
        }
    counts = service.upsert_schools(session, out)
    _tick(progress, len(rows) - (len(rows) // 1000) * 500)
    report.created, report.updated, report.unchanged = (
        counts.created,
        counts.updated,
        counts.unchanged,
    )
    return report


class _TreeBuilder:
    """Admin units named by a file's hierarchy columns; codes derive from the path of names
    unless the mapping names a code column for the level."""

    def __init__(self, session: Session, m: Mapping) -> None:
        self.m = m
        self.units: dict[str, dict[str, Any]] = {}
        self.root_code: str | None = None
        if m.root:
            self.root_code = m.root["code"]
            existing = service.unit_by_code(session, self.root_code)
            self.units[self.root_code] = {
                "code": self.root_code,
                "name": m.root.get("name") or (existing.name if existing else self.root_code),
                "level_name": m.root.get("level_name")
                or (existing.level_name if existing else "country"),
                "parent": None
                if existing is None or existing.parent_id is None
                else _parent_code(session, existing),
            }

    def unit_for(self, line: int, r: dict[str, str], errors: list[RowError]) -> str:
        parent = self.root_code
        for lv in self.m.levels:
            name = (r.get(lv["name"]) or "").strip()
            if not name:
                errors.append(
                    RowError(line, lv["name"], name, f"is empty ({lv['level_name']} name)")
                )
                return ""
            code = (
                (r.get(lv["code"]) or "").strip() if lv.get("code") else derived_code(parent, name)
            )
            if lv.get("code") and not _check_code(errors, line, lv["code"], code):
                return ""
            known = self.units.get(code)
            if known and known["parent"] != parent:
                errors.append(
                    RowError(
                        line,
                        lv.get("code") or lv["name"],
                        code,
                        f"this {lv['level_name']} already sits under {known['parent']}",
                    )
                )
                return ""
            self.units[code] = {
                "code": code,
                "name": name,
                "level_name": lv["level_name"],
                "parent": parent,
            }
            parent = code
        return parent or ""

    def rows(self) -> list[dict[str, Any]]:
        return list(self.units.values())


def _parent_code(session: Session, unit: AdminUnit) -> str | None:
    parent = session.get(AdminUnit, unit.parent_id)
    return parent.code if parent else None


def _tree_builder(session: Session, m: Mapping) -> _TreeBuilder:
    return _TreeBuilder(session, m)


def _population(
    session: Session,
    rows: list[tuple[int, dict[str, str]]],
    _m: Mapping | None,
    progress: Callable[[int], None] | None,
    errors: list[RowError],
) -> ImportReport:
    known = set(session.scalars(select(sqlmodel.col(AdminUnit.code))))
    seen: dict[tuple[str, int, int, str], int] = {}
    out = []
    for line, r in rows:
        before = len(errors)
        unit = (r.get("unit") or "").strip()
        if unit not in known:
            errors.append(RowError(line, "unit", unit, "no admin unit has this code"))
        year = _as_int(errors, line, "year", (r.get("year") or "").strip(), 1900)
        age = _as_int(errors, line, "age", (r.get("age") or "").strip(), 0)
        sex = (r.get("sex") or "").strip().upper()
        if sex not in ("F", "M"):
            errors.append(RowError(line, "sex", r.get("sex") or "", "sex must be F or M"))
        value = _as_int(errors, line, "value", (r.get("value") or "").strip(), 0)
        if len(errors) > before:
            continue
        key = (unit, year, age, sex)
        if key in seen:
            errors.append(
                RowError(line, "unit", unit, f"duplicate unit/year/age/sex: line {seen[key]}")
            )
            continue
        seen[key] = line  # type: ignore[index]
        out.append({"unit": unit, "year": year, "age": age, "sex": sex, "value": value})
    if errors:
        raise ImportRejected(errors)
    counts = service.upsert_population(session, out)
    _tick(progress, len(rows))
    return ImportReport("population", len(rows), counts.created, counts.updated, counts.unchanged)


def _years(
    session: Session,
    rows: list[tuple[int, dict[str, str]]],
    _m: Mapping | None,
    progress: Callable[[int], None] | None,
    errors: list[RowError],
) -> ImportReport:
    out = []
    for line, r in rows:
        before = len(errors)
        year = _as_int(errors, line, "year", (r.get("year") or "").strip(), 1900)
        label = (r.get("label") or "").strip()
        if not label:
            errors.append(RowError(line, "label", label, "is empty"))
        raw_ref = (r.get("reference_date") or "").strip()
        try:
            ref: date | None = date.fromisoformat(raw_ref)
        except ValueError:
            errors.append(RowError(line, "reference_date", raw_ref, "not a date (YYYY-MM-DD)"))
            ref = None
        opens = _as_datetime(errors, line, "window_opens", (r.get("window_opens") or "").strip())
        closes = _as_datetime(errors, line, "window_closes", (r.get("window_closes") or "").strip())
        if opens and closes and closes < opens:
            errors.append(
                RowError(line, "window_closes", r["window_closes"], "is before window_opens")
            )
        if len(errors) == before:
            out.append(
                {
                    "year": year,
                    "label": label,
                    "reference_date": ref,
                    "window_opens": opens,
                    "window_closes": closes,
                    "reopened_until": None,
                }
            )
    if errors:
        raise ImportRejected(errors)
    counts = service.upsert_years(session, out)
    _tick(progress, len(rows))
    return ImportReport("years", len(rows), counts.created, counts.updated, counts.unchanged)
