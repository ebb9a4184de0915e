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
    """Per form: element positions and, per element, every possible cell key in canonical
    order with the cell's dimensions as they travel (built once, so storing a return is a walk
    over the keys, not a sort)."""

    def __init__(self, form: CompiledForm) -> None:
        defn = form.definition
        self.elements = {e.code: i for i, e in enumerate(defn.elements)}
        options = {
            name: [(str(o), _wire(str(o))) for o in cat.options]
            for name, cat in defn.categories.items()
        }
        # Per element: each possible cell key's rank in canonical order, and its cell as it
        # travels (dimensions only; the value is added when stored).
        self.rank: dict[str, dict[tuple[str, ...], int]] = {}
        self.cell: dict[str, dict[tuple[str, ...], dict[str, Any]]] = {}
        for code, element in form.elements.items():
            if not element.dims:
                continue
            combos: list[tuple[tuple[str, ...], dict[str, Any]]] = [((), {})]
            for dim in element.dims:
                combos = [
                    ((*key, o), {**cell, dim: wire})
                    for key, cell in combos
                    for o, wire in options[dim]
                ]
            self.rank[code] = {key: i for i, (key, _) in enumerate(combos)}
            self.cell[code] = dict(combos)


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
        store = cells[code]
        rank = order.rank.get(code)
        if rank is None:
            out[code] = store[()]
            continue
        template = order.cell[code]
        out[code] = [
            {**template[key], "value": store[key]} for key in sorted(store, key=rank.__getitem__)
        ]
    return out
