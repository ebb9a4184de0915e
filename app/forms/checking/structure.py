"""Structure checks: each value is a known data element, each cell names known options of the
element's categories once, each value has the element's type. Any finding rejects the return.

Paths name the offending cell: `values.enrolment[3]` is the fourth cell sent for enrolment,
`values.enrolment[3].sex` one of its dimensions, `values.seats` a plain value."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from app.forms.checking.definition import FormDefinition
from app.forms.checking.findings import Finding

MAX_COUNT = 2_147_483_647  # no census count comes near; larger is a typing or export error
MAX_TEXT = 2000
SHOWN_OPTIONS = 12  # options listed in an UNKNOWN_OPTION text
Cells = dict[str, dict[tuple[str, ...], Any]]


@dataclass(frozen=True)
class Element:
    """A data element ready for checking: its categories' options, also as accepted raw keys."""

    code: str
    dims: tuple[str, ...]
    options: tuple[frozenset[str], ...]
    option_maps: tuple[dict[Any, str], ...]
    type: str
    choices: frozenset[str]
    required: bool


def compile_elements(defn: FormDefinition) -> dict[str, Element]:
    """The definition's data elements, by code, ready for checking."""
    cats = defn.categories
    out: dict[str, Element] = {}
    for e in defn.elements:
        options = tuple(frozenset(cats[d].options) for d in e.dimensions)
        out[e.code] = Element(
            e.code,
            tuple(e.dimensions),
            options,
            tuple(_option_map(o) for o in options),
            e.type,
            frozenset(e.choices or ()),
            e.required,
        )
    return out


class StructureChecks:
    """The structure checks of one form; `check` turns sent values into cells by key."""

    def __init__(self, elements: dict[str, Element]) -> None:
        self.elements = elements

    def check(self, values: Any, lang: str, out: list[Finding]) -> Cells:
        """The usable cells of `values`, by element and key; each problem appended to `out`."""
        cells: Cells = {}
        if not isinstance(values, dict):
            out.append(Finding("NOT_AN_OBJECT", "values", "error", {}, lang))
            return cells
        for code, raw in values.items():
            el = self.elements.get(code)
            path = f"values.{code}"
            if el is None:
                out.append(Finding("UNKNOWN_ELEMENT", path, "error", {"element": code}, lang))
                continue
            if not el.dims:
                if isinstance(raw, list | dict):
                    out.append(Finding("NOT_A_VALUE", path, "error", {"element": code}, lang))
                elif self._value_ok(el, raw, path, lang, out):
                    cells[code] = {(): raw}
                continue
            if not isinstance(raw, list):
                params = {"element": code, "dims": ", ".join(el.dims)}
                out.append(Finding("NOT_A_LIST", path, "error", params, lang))
                continue
            cells[code] = self._cells(el, raw, path, lang, out)
        return cells

    def missing_required(self, cells: Cells, lang: str, out: list[Finding]) -> None:
        """Required elements not sent (rule errors: the return is kept, as invalid)."""
        for el in self.elements.values():
            if el.required and el.code not in cells:
                out.append(
                    Finding(
                        "REQUIRED_MISSING", f"values.{el.code}", "error", {"element": el.code}, lang
                    )
                )

    def _cells(
        self, el: Element, raw: list[Any], path: str, lang: str, out: list[Finding]
    ) -> dict[tuple[str, ...], Any]:
        store: dict[tuple[str, ...], Any] = {}
        width = len(el.dims) + 1
        pairs = tuple(zip(el.dims, el.option_maps, strict=True))
        is_count = el.type == "count"
        # True == 1 in a dict: only categories with an option "0" or "1" need the bool guard.
        bool_risk = any(0 in m or 1 in m for m in el.option_maps)
        make_key = _key_maker(pairs)
        for i, cell in enumerate(raw):
            if type(cell) is not dict:
                params = {"element": el.code, "dims": ", ".join(el.dims)}
                out.append(Finding("NOT_A_CELL", f"{path}[{i}]", "error", params, lang))
                continue
            try:
                key: tuple[str, ...] | None = make_key(cell)
            except (KeyError, TypeError):  # missing dimension, unknown option, unhashable value
                key = None
            value = cell.get("value")
            if (
                key is not None
                and len(cell) == width
                and is_count
                and type(value) is int
                and 0 <= value <= MAX_COUNT
                and not (bool_risk and any(type(cell[d]) is bool for d in el.dims))
            ):
                pass  # the common case, checked in full
            else:
                key = self._slow_cell(el, cell, f"{path}[{i}]", lang, out)
                if key is None:
                    continue
            if key in store:
                shown = ", ".join(f"{d}={k}" for d, k in zip(el.dims, key, strict=True))
                params = {"element": el.code, "key": shown}
                out.append(Finding("DUPLICATE_CELL", f"{path}[{i}]", "error", params, lang))
                continue
            store[key] = value
        return store

    def _slow_cell(
        self, el: Element, cell: dict[str, Any], path: str, lang: str, out: list[Finding]
    ) -> tuple[str, ...] | None:
        """Every problem of one cell, named; the key when the cell is usable."""
        key = []
        ok = True
        for dim, options in zip(el.dims, el.options, strict=True):
            if dim not in cell:
                params = {"element": el.code, "dim": dim}
                out.append(Finding("MISSING_DIMENSION", path, "error", params, lang))
                ok = False
                continue
            v = cell[dim]
            s = v if type(v) is str else str(v) if type(v) is int else None
            if s is None or s not in options:  # bool, float, list or an unknown option
                shown = sorted(options, key=lambda o: (len(o), o))
                params = {
                    "value": str(v),
                    "dim": dim,
                    "options": ", ".join(shown[:SHOWN_OPTIONS])
                    + (" …" if len(shown) > SHOWN_OPTIONS else ""),
                }
                out.append(Finding("UNKNOWN_OPTION", f"{path}.{dim}", "error", params, lang))
                ok = False
                continue
            key.append(s)
        for extra in cell.keys() - set(el.dims) - {"value"}:
            params = {"element": el.code, "dim": extra}
            out.append(Finding("UNKNOWN_DIMENSION", f"{path}.{extra}", "error", params, lang))
            ok = False
        if "value" not in cell:
            out.append(Finding("MISSING_VALUE", path, "error", {"element": el.code}, lang))
            return None
        if not self._value_ok(el, cell["value"], f"{path}.value", lang, out):
            return None
        return tuple(key) if ok else None

    def _value_ok(self, el: Element, v: Any, path: str, lang: str, out: list[Finding]) -> bool:
        t = el.type
        if v is None:
            out.append(Finding("NULL_VALUE", path, "error", {"element": el.code}, lang))
            return False
        if t == "count":
            if type(v) is int:
                if 0 <= v <= MAX_COUNT:
                    return True
                if v > MAX_COUNT:
                    params = {"element": el.code, "value": v, "limit": MAX_COUNT}
                    out.append(Finding("NUMBER_TOO_LARGE", path, "error", params, lang))
                    return False
                params = {"element": el.code, "value": v}
                out.append(Finding("NEGATIVE_COUNT", path, "error", params, lang))
                return False
            ok = False
        elif t == "boolean":
            ok = type(v) is bool
        elif t == "choice":
            ok = type(v) is str and v in el.choices
        elif t == "text":
            ok = type(v) is str and len(v) <= MAX_TEXT
        else:
            ok = type(v) is str and _is_date(v)
        if not ok:
            # `type` names the expected kind; each catalogue words it (terms: expected).
            params = {"element": el.code, "type": t, "value": repr(v)}
            out.append(Finding("WRONG_TYPE", path, "error", params, lang))
        return ok


def _key_maker(
    pairs: tuple[tuple[str, dict[Any, str]], ...],
) -> Callable[[dict[str, Any]], tuple[str, ...]]:
    """The cell-key function for an element, unrolled for the usual 1 to 3 dimensions; raises
    KeyError or TypeError for a missing dimension, an unknown option or an unhashable value."""
    if len(pairs) == 1:
        ((d0, m0),) = pairs
        return lambda cell: (m0[cell[d0]],)
    if len(pairs) == 2:
        (d0, m0), (d1, m1) = pairs
        return lambda cell: (m0[cell[d0]], m1[cell[d1]])
    if len(pairs) == 3:
        (d0, m0), (d1, m1), (d2, m2) = pairs
        return lambda cell: (m0[cell[d0]], m1[cell[d1]], m2[cell[d2]])
    return lambda cell: tuple([m[cell[d]] for d, m in pairs])


def _option_map(options: frozenset[str]) -> dict[Any, str]:
    """Accepted raw values of a category (strings, and ints for numeric options) → option."""
    out: dict[Any, str] = {o: o for o in options}
    for o in options:
        if o.lstrip("-").isdigit() and str(int(o)) == o:
            out[int(o)] = o
    return out


def _is_date(v: str) -> bool:
    try:
        date.fromisoformat(v)
    except ValueError:
        return False
    return len(v) == 10


STRUCTURE_CODES = (
    "NOT_AN_OBJECT",
    "UNKNOWN_ELEMENT",
    "NOT_A_LIST",
    "NOT_A_VALUE",
    "NOT_A_CELL",
    "MISSING_DIMENSION",
    "UNKNOWN_DIMENSION",
    "UNKNOWN_OPTION",
    "MISSING_VALUE",
    "NULL_VALUE",
    "WRONG_TYPE",
    "NEGATIVE_COUNT",
    "NUMBER_TOO_LARGE",
    "DUPLICATE_CELL",
    "REQUIRED_MISSING",
)

__all__ = [
    "MAX_COUNT",
    "STRUCTURE_CODES",
    "Cells",
    "Element",
    "StructureChecks",
    "compile_elements",
]
