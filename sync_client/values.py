"""A return's values as flat cells: `enrolment[grade=P1,sex=F,age=6]` → 31, `seats` → 120.

The wire form (DOMAIN.md) lists cells per element; flat keys are what a clerk reads, edits and
compares (dimension order as the form lists it, options as text, so age 6 and "6" are one cell)."""

from typing import Any

from sync_client.checks import FormDefinition

Flat = dict[str, Any]


def cell_key(element: str, dims: list[str], opts: list[str]) -> str:
    if not dims:
        return element
    return element + "[" + ",".join(f"{d}={o}" for d, o in zip(dims, opts, strict=True)) + "]"


def flatten(defn: FormDefinition, values: Any) -> Flat:
    """Flat cells of wire values (unknown elements and malformed cells kept under their own key,
    so nothing a clerk typed disappears silently)."""
    out: Flat = {}
    if not isinstance(values, dict):
        return out
    index = _index(defn)
    for code, raw in values.items():
        known = index.get(code)
        if known is None or not known[0] or not isinstance(raw, list):
            out[code] = raw
            continue
        dims = known[0]
        for cell in raw:
            if not isinstance(cell, dict):
                continue
            inner = ",".join([f"{d}={cell.get(d)}" for d in dims])
            out[f"{code}[{inner}]"] = cell.get("value")
    return out


_Index = dict[str, tuple[list[str], list[dict[str, int]]]]
_INDEX: dict[tuple[str, int], _Index] = {}
# Keys of real cells, parsed once per form version (bounded by the form's cells).
_PARSED: dict[tuple[str, int], dict[str, tuple[str, list[str]]]] = {}


def _index(defn: FormDefinition) -> _Index:
    """Per element: its dimensions and, per dimension, option → position (a definition version
    never changes, so one index per form code and version)."""
    key = (defn.code, defn.version)
    if key not in _INDEX:
        _INDEX[key] = {
            e.code: (
                list(e.dimensions),
                [{o: i for i, o in enumerate(defn.categories[d].options)} for d in e.dimensions],
            )
            for e in defn.elements
        }
    return _INDEX[key]


def parse_key(defn: FormDefinition, text: str) -> tuple[str, list[str]] | None:
    """(element, options in the form's dimension order) of a flat key a clerk typed, any order of
    dimensions; None when it names no cell of the form."""
    memo = _PARSED.setdefault((defn.code, defn.version), {})
    hit = memo.get(text)
    if hit is not None:
        return hit
    found = _parse_key(defn, text)
    if found is not None:
        memo[text] = found
    return found


def _parse_key(defn: FormDefinition, text: str) -> tuple[str, list[str]] | None:
    index = _index(defn)
    name, bracket, rest = text.partition("[")
    known = index.get(name)
    if known is not None and rest.endswith("]"):
        # the canonical form (as flatten writes it): one split, no search
        dims, orders = known
        parts = rest[:-1].split(",")
        if len(parts) == len(dims):
            opts = []
            for part, d, order in zip(parts, dims, orders, strict=True):
                dim, _, opt = part.partition("=")
                if dim != d or opt not in order:
                    break
                opts.append(opt)
            else:
                return name, opts
    elif known is not None and not bracket and not known[0]:
        return name, []
    text = text.strip()
    if text.startswith("values."):
        text = text[len("values.") :]
    name, _, rest = text.partition("[")
    el = defn.element(name.strip())
    if el is None:
        return None
    if not el.dimensions:
        return (el.code, []) if not rest else None
    if not rest.endswith("]"):
        return None
    given: dict[str, str] = {}
    for part in rest[:-1].split(","):
        dim, eq, opt = part.partition("=")
        if not eq:
            return None
        given[dim.strip()] = opt.strip()
    if set(given) != set(el.dimensions):
        return None
    opts = [given[d] for d in el.dimensions]
    for d, o in zip(el.dimensions, opts, strict=True):
        if o not in defn.categories[d].options:
            return None
    return el.code, opts


def unflatten(defn: FormDefinition, flat: Flat) -> dict[str, Any]:
    """Wire values from flat cells, elements and cells in the form's order (one exact body)."""
    out: dict[str, Any] = {}
    by_element: dict[str, list[tuple[list[str], Any]]] = {}
    for key, value in flat.items():
        parsed = parse_key(defn, key)
        if parsed is None:
            out[key] = value
            continue
        code, opts = parsed
        by_element.setdefault(code, []).append((opts, value))
    index = _index(defn)
    for el in defn.elements:
        cells = by_element.get(el.code)
        if cells is None:
            continue
        if not el.dimensions:
            out[el.code] = cells[0][1]
            continue
        order = index[el.code][1]
        cells.sort(key=lambda c: [order[i][o] for i, o in enumerate(c[0])])
        out[el.code] = [
            {**dict(zip(el.dimensions, opts, strict=True)), "value": v} for opts, v in cells
        ]
    return out


def diff(mine: Flat, theirs: Flat) -> list[tuple[str, Any, Any]]:
    """Cells that differ: (key, mine, theirs), None for a cell not there."""
    return [
        (k, mine.get(k), theirs.get(k))
        for k in sorted(set(mine) | set(theirs))
        if mine.get(k) != theirs.get(k)
    ]
