"""One stored form for a return's values: what the check engine understands, written one way.

The engine accepts `"age": 6` and `"age": "6"`, and cells and keys in any order. A revision
stores its values in one canonical form and its content hash is computed over that form, so a
client that re-serialises an unchanged change on retry gets `duplicate`, not `ID_REUSED`.

The canonical form: data elements in the definition's order, each cell's dimensions in the
element's order then `value`, cells sorted by their options in the categories' order, numeric
options (ages) as numbers."""

from typing import Any

from app.forms.checking import CompiledForm


def _wire(option: str) -> int | str:
    """An option as it travels: numeric options (ages) as numbers, the others as text."""
    if option.lstrip("-").isdigit() and str(int(option)) == option:
        return int(option)
    return option


class _Order:
    """Per form: element positions and, per category, each option's position and wire form."""

    def __init__(self, form: CompiledForm) -> None:
        defn = form.definition
        self.elements = {e.code: i for i, e in enumerate(defn.elements)}
        self.options = {
            name: {str(o): (i, _wire(str(o))) for i, o in enumerate(cat.options)}
            for name, cat in defn.categories.items()
        }


_orders: dict[int, tuple[CompiledForm, _Order]] = {}


def _order_of(form: CompiledForm) -> _Order:
    hit = _orders.get(id(form))
    if hit is None or hit[0] is not form:
        hit = (form, _Order(form))
        _orders[id(form)] = hit
    return hit[1]


def canonical_values(form: CompiledForm, values: Any) -> Any:
    """The values in canonical form (see the module's docstring). Values the engine would
    reject come back unchanged: they are never stored."""
    problems: list[Any] = []
    cells = form.read_cells(values, problems)
    if problems:
        return values
    return canonical_from_cells(form, cells)


def canonical_from_cells(form: CompiledForm, cells: dict[str, dict[tuple[str, ...], Any]]) -> Any:
    """The canonical form of cells the engine has already read (`CheckResult.cells`)."""
    order = _order_of(form)
    out: dict[str, Any] = {}
    for code in sorted(cells, key=order.elements.__getitem__):
        element = form.elements[code]
        store = cells[code]
        if not element.dims:
            out[code] = store[()]
            continue
        maps = [order.options[d] for d in element.dims]
        rows = []
        for key in sorted(store, key=lambda k: [m[o][0] for m, o in zip(maps, k, strict=True)]):
            cell: dict[str, Any] = {
                d: m[o][1] for d, m, o in zip(element.dims, maps, key, strict=True)
            }
            cell["value"] = store[key]
            rows.append(cell)
        out[code] = rows
    return out
