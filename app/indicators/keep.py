"""Keeping the totals current: every applied revision, status change and school change moves
its return's contribution, in the same transaction (app.core.derived runs this before commit).

A return's contribution is a flat map of cells (`element|opt|opt…` → count) read from its
current revision, plus a few derived cells the indicators need without rescanning ages:
`~E|grade|sex` (pupils by grade, all ages), `~NER|level|sex` (pupils of the level's official
ages enrolled in it), `~ANER|level|sex` (the same ages enrolled in it or a higher level),
`_return` (1 per school) and `_offers|level` (1 per school offering the level).

To move a contribution, the old one is recomputed from the revision its placement names
(revisions never change) and subtracted where it was counted, and the new one is added where it
now belongs. Pairs of consecutive years of one school feed `flow_sum` the same way. Rows are
upserted in primary-key order, so concurrent writers lock them in one order."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cache, cached_property, lru_cache
from itertools import repeat
from operator import add, itemgetter, neg, sub
from typing import Any

import orjson
from sqlalchemy import (
    String,
    bindparam,
    cast,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session
from sqlmodel import col

from app.core.audit import note_audit
from app.core.db import keys_in, rows_of, sqlite_json_rows, table_of
from app.core.derived import Dirty, Item, prepared, register, register_preparer
from app.forms.checking import CompiledForm
from app.forms.service import FormCache
from app.indicators.models import (
    FlowTotal,
    IndicatorCells,
    IndicatorPlacement,
    IndicatorSplit,
    IndicatorTotal,
)
from app.registry import service as registry
from app.returns import service as returns
from app.returns.service import ReturnState

Cells = dict[str, int]
# What the check engine read of a return's values (CheckResult.cells): element -> cell key (its
# options, in the element's dimensions' order) -> value; one value under the key ().
Read = dict[str, dict[tuple[str, ...], Any]]
# (year, form, unit, status, ownership, locality) of a contribution
Place = tuple[int, str, int, str, str, str]

# Worst first: a pair of years counts under the lower status of its two returns, so "not
# invalid" keeps pairs where neither is invalid and "approved" those where both are.
STATUS_ORDER = ("invalid", "returned", "submitted", "approved", "locked")
_RANK = {s: i for i, s in enumerate(STATUS_ORDER)}
# What the flow rates need of each year of a pair.
_FLOW_ELEMENTS = ("~E", "repeaters", "graduates", "_return", "_offers")

# Kept as one row per cell: what the indicators read (derived keys start with ~ or _).
ROW_ELEMENTS = frozenset(
    {
        "repeaters", "new_entrants", "teachers", "graduates", "classrooms", "has_drinking_water",
        "has_electricity", "has_internet", "has_handwashing", "improvement_plan",
    }
)  # fmt: skip


@cache
def kept_as_row(element: str) -> bool:
    return element[:1] in ("~", "_") or element.split(":")[-1] in ROW_ELEMENTS


@cache
def element_of(key: str) -> str:
    """A key's element (`element|opt…`): the keys of a form are few, and every cell asks."""
    return key.split("|", 1)[0]


@cache
def _row_element(key: str) -> str | None:
    """The element of a key kept as a row, None for a key kept in the documents (one lookup
    for each key written)."""
    element = element_of(key)
    return element if kept_as_row(element) else None


# Documents sent in one statement (a rebuild holds every document of the country).
DOCS_PER_STATEMENT = 500
# Field names of a place sent as a JSON object (PostgreSQL's json_to_recordset), short to send:
# year, form, unit, status, ownership, locality and its {key: [sum, schools]}.
_SHORT = tuple("abcdefg")


_forms = FormCache()


@dataclass(frozen=True)
class Level:
    code: str
    sequence: int
    entrance_age: int
    duration: int
    grades: tuple[str, ...]

    @property
    def ages(self) -> range:
        return range(self.entrance_age, self.entrance_age + self.duration)


@dataclass(frozen=True)
class Structure:
    levels: tuple[Level, ...]

    @cached_property
    def grade_level(self) -> dict[str, Level]:
        return {g: lv for lv in self.levels for g in lv.grades}

    @cached_property
    def summary_keys(
        self,
    ) -> tuple[tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...]:
        """Per level: the keys of its pupils, its girls and its repeaters (school_summary)."""
        return tuple(
            (
                lv.code,
                tuple(f"~E|{g}|{s}" for g in lv.grades for s in ("F", "M")),
                tuple(f"~E|{g}|F" for g in lv.grades),
                tuple(f"repeaters|{g}|{s}" for g in lv.grades for s in ("F", "M")),
            )
            for lv in self.levels
        )

    @cached_property
    def age_keys(self) -> dict[tuple[str, int], tuple[str, ...]]:
        """(grade, age) -> the derived NER/ANER keys (sex appended) a pupil counts in."""
        out: dict[tuple[str, int], tuple[str, ...]] = {}
        ages = {a for lv in self.levels for a in lv.ages}
        for grade, level in self.grade_level.items():
            for age in ages:
                keys = []
                for lv in self.levels:
                    if age in lv.ages and level.sequence >= lv.sequence:
                        keys.append(f"~ANER|{lv.code}|")
                        if lv.code == level.code:
                            keys.append(f"~NER|{lv.code}|")
                if keys:
                    out[(grade, age)] = tuple(keys)
        return out


def structure_of(session: Session) -> Structure:
    """The education structure as stored now (read every time: it is the registry's to change),
    one object per distinct structure, so its maps are built once, not once per push."""
    return _structure(
        tuple(
            Level(code, sequence, entrance, duration, tuple(grades))
            for code, sequence, entrance, duration, grades in registry.education_structure(session)
        )
    )


@lru_cache(maxsize=64)
def _structure(levels: tuple[Level, ...]) -> Structure:
    return Structure(levels)


def _age(option: Any) -> int | None:
    text = str(option)
    return int(text) if text.isdigit() else None


# Per form: (element, kind, the key maker, the getter of its options, their keys by options).
Layout = list[tuple[str, str, Any, Any, dict[Any, str]]]
_layouts: dict[int, tuple[CompiledForm, Layout]] = {}


def _key_maker(code: str, dims: Sequence[str]) -> Any:
    """cell -> its key, `element|opt|opt…` (an f-string per arity)."""
    if len(dims) == 1:
        (a,) = dims
        return lambda c: f"{code}|{c[a]}"
    if len(dims) == 2:
        a, b = dims
        return lambda c: f"{code}|{c[a]}|{c[b]}"
    if len(dims) == 3:
        a, b, d = dims
        return lambda c: f"{code}|{c[a]}|{c[b]}|{c[d]}"
    return lambda c: code + "|" + "|".join(str(c[x]) for x in dims)


def _layout(form: CompiledForm) -> Layout:
    hit = _layouts.get(id(form))
    if hit is None or hit[0] is not form:
        layout: Layout = []
        for e in form.definition.elements:
            if e.type == "count" and e.dimensions:
                # A cell's options are picked in C (itemgetter) and its key made once per
                # distinct options (below), not once per cell of every return.
                getter = itemgetter(*e.dimensions)
                layout.append((e.code, "cells", _key_maker(e.code, e.dimensions), getter, {}))
            elif e.type in ("count", "boolean", "choice"):
                layout.append((e.code, e.type, None, None, {}))
        hit = _layouts[id(form)] = (form, layout)
    return hit[1]


# (form, structure) -> the enrolment plan: each enrolment cell's options -> every key it counts
# in (itself, pupils by grade, the NER/ANER keys of its age); forms and structures are few.
Plan = dict[Any, tuple[str, ...]]
_PLAN_MAX = 20_000
_plans: dict[tuple[int, int], tuple[CompiledForm, Structure, Plan | None, bool]] = {}


def _enrolment_plan(form: CompiledForm, structure: Structure) -> tuple[Plan | None, bool]:
    """A memo to fill (None when the form has no enrolment by grade and sex), and whether the
    enrolment has an age dimension."""
    hit = _plans.get((id(form), id(structure)))
    if hit is None or hit[0] is not form or hit[1] is not structure:
        compiled = form.elements.get("enrolment")
        by_grade = compiled is not None and {"grade", "sex"} <= set(compiled.dims)
        with_age = compiled is not None and "age" in compiled.dims
        hit = _plans[(id(form), id(structure))] = (
            form,
            structure,
            {} if by_grade else None,
            with_age,
        )
    return hit[2], hit[3]


def _enrolment_keys(
    key: str, cell: dict[str, Any], structure: Structure, with_age: bool
) -> tuple[str, ...]:
    grade, sex = str(cell["grade"]), str(cell["sex"])
    age = _age(cell["age"]) if with_age else None
    derived = structure.age_keys.get((grade, age), ()) if age is not None else ()
    return (key, f"~E|{grade}|{sex}", *(k + sex for k in derived))


def cells_of(
    form: CompiledForm, values: dict[str, Any], structure: Structure, offered: Sequence[str]
) -> Cells:
    """One return's contribution (see the module's docstring)."""
    out: Cells = defaultdict(int)
    plan, with_age = _enrolment_plan(form, structure)
    for code, kind, key_of, options_of, keys in _layout(form):
        v = values.get(code)
        if v is None:
            continue
        if kind == "cells":
            if code == "enrolment" and plan is not None:
                # A cell's keys are found once per form and structure, not once per return.
                for cell in v:
                    n = int(cell["value"])
                    options = options_of(cell)
                    found = plan.get(options)
                    if found is None:
                        found = _enrolment_keys(key_of(cell), cell, structure, with_age)
                        if len(plan) < _PLAN_MAX:  # a form's cells are few; odd ones not kept
                            plan[options] = found
                    for k in found:
                        out[k] += n
                continue
            for cell in v:
                options = options_of(cell)
                key = keys.get(options)
                if key is None:
                    key = key_of(cell)
                    if len(keys) < _PLAN_MAX:
                        keys[options] = key
                out[key] += int(cell["value"])
        elif kind == "count":
            out[code] += int(v)
        elif kind == "boolean":
            out[code] += 1 if v else 0
        elif kind == "choice":
            out[f"{code}|{v}"] += 1
    # Grades without an age grid count from the total column, where the form has one.
    totals = form.elements.get("enrolment_total")
    by_grade_total = totals is not None and {"grade", "sex"} <= set(totals.dims)
    for cell in (values.get("enrolment_total") or []) if by_grade_total else []:
        key = f"~E|{cell['grade']}|{cell['sex']}"
        if key not in out:
            out[key] += int(cell["value"])
    out["_return"] = 1
    for offer in offered:
        out[f"_offers|{offer}"] = 1
    return dict(out)


# A return's shape: which elements it fills and each cell's options (what keys it gives and
# which of its values add into each key), without the numbers. Returns of one form mostly share
# a few shapes (a clerk fills the same grid), so each shape's plan is made once.
_VALUE = itemgetter("value")
_SHAPES_MAX = 512  # per form, structure and levels offered; further shapes count cell by cell
_MEMOS_MAX = 256  # (form, structure, levels offered) memos kept
_shapes: dict[
    tuple[int, int, tuple[str, ...]], tuple[CompiledForm, Structure, dict[Any, Any] | None]
] = {}


@dataclass(frozen=True)
class _Shape:
    """How a shape's values (in reading order) make its contribution: the keys taken from one
    value each (with the getter of those values), the keys summed from several, the constants."""

    single_keys: tuple[str, ...]
    single: Any  # itemgetter of the values, one per single key (None when there are none)
    summed: tuple[tuple[str, Any], ...]  # (key, itemgetter of its values)
    constants: tuple[tuple[str, int], ...]


def _shape_of(form: CompiledForm, values: dict[str, Any]) -> tuple[Any, list[int]]:
    """A return's shape (hashable) and its values in reading order (see _Shape)."""
    shape: list[Any] = []
    numbers: list[int] = []
    for code, kind, _key_of, options_of, _keys in _layout(form):
        v = values.get(code)
        if v is None:
            shape.append(None)
        elif kind == "cells":
            shape.append(tuple(map(options_of, v)))
            numbers.extend(map(int, map(_VALUE, v)))
        elif kind == "count":
            shape.append(True)
            numbers.append(int(v))
        elif kind == "boolean":
            shape.append(True)
            numbers.append(1 if v else 0)
        else:  # a choice gives a key of its option (1 and True make different keys)
            shape.append((type(v), v))
    return tuple(shape), numbers


def _plan_shape(
    form: CompiledForm, values: dict[str, Any], structure: Structure, offered: Sequence[str]
) -> _Shape:
    """The plan of this return's shape: cells_of's counting, with each value's place in the
    reading order instead of the value."""
    picks: dict[str, list[int]] = {}
    constants: dict[str, int] = {}

    def take(key: str, i: int | None) -> None:
        if i is None:
            constants[key] = constants.get(key, 0) + 1
        else:
            picks.setdefault(key, []).append(i)

    memo, with_age = _enrolment_plan(form, structure)
    by_grade = memo is not None
    i = 0
    total_cells: list[tuple[int, dict[str, Any]]] = []
    for code, kind, key_of, _options_of, _keys in _layout(form):
        v = values.get(code)
        if v is None:
            continue
        if kind == "cells":
            for cell in v:
                if code == "enrolment" and by_grade:
                    for k in _enrolment_keys(key_of(cell), cell, structure, with_age):
                        take(k, i)
                else:
                    take(key_of(cell), i)
                if code == "enrolment_total":
                    total_cells.append((i, cell))
                i += 1
        elif kind in ("count", "boolean"):
            take(code, i)
            i += 1
        else:
            take(f"{code}|{v}", None)
    totals = form.elements.get("enrolment_total")
    if totals is not None and {"grade", "sex"} <= set(totals.dims):
        for j, cell in total_cells:
            key = f"~E|{cell['grade']}|{cell['sex']}"
            if key not in picks and key not in constants:
                take(key, j)
    for key in ("_return", *(f"_offers|{offer}" for offer in offered)):
        picks.pop(key, None)  # set, not added to (as cells_of does)
        constants[key] = 1
    single = tuple(k for k, idx in picks.items() if len(idx) == 1 and k not in constants)
    return _Shape(
        single_keys=single,
        single=itemgetter(*(picks[k][0] for k in single)) if single else None,
        summed=tuple(
            (k, itemgetter(*idx)) for k, idx in picks.items() if k not in single and len(idx) > 0
        ),
        constants=tuple(constants.items()),
    )


def _plans_for(
    form: CompiledForm, structure: Structure, offered: Sequence[str]
) -> dict[Any, _Shape] | None:
    """The plans of this form, structure and levels offered by shape; None when the form's
    returns are counted cell by cell."""
    memo_key = (id(form), id(structure), tuple(offered))
    hit = _shapes.get(memo_key)
    if hit is None or hit[0] is not form or hit[1] is not structure:
        totals = form.elements.get("enrolment_total")
        planned = (
            totals is None
            or not {"grade", "sex"} <= set(totals.dims)
            or any(e[0] == "enrolment_total" and e[1] == "cells" for e in _layout(form))
        )  # else the grade totals are not among the values read in order: cell by cell
        if len(_shapes) >= _MEMOS_MAX:  # forms, structures and levels offered come and go
            _shapes.clear()
        hit = _shapes[memo_key] = (form, structure, {} if planned else None)
    return hit[2]


def contribution(
    form: CompiledForm,
    values: dict[str, Any],
    structure: Structure,
    offered: Sequence[str],
    read: Read | None = None,
) -> Cells:
    """cells_of's result, made through the plan of the return's shape (each shape planned once);
    shapes past the memo's bound, or values no shape can name, are counted by cells_of.
    `read`, when given, is what the check engine read of these very values (CheckResult.cells:
    element -> cell key -> value): the shape and numbers are then taken from it, in the order
    read, with no second walk over the values' cells."""
    plans = _plans_for(form, structure, offered)
    if plans is None:
        return cells_of(form, values, structure, offered)
    if read is not None and _reads_cells(form):
        shape, numbers = _shape_of_read(form, read)
        plan = plans.get(shape)
        if plan is None:
            if len(plans) >= _SHAPES_MAX:
                return cells_of(form, values, structure, offered)
            plan = plans[shape] = _plan_shape(form, _in_read_order(form, read), structure, offered)
        return _applied(plan, numbers)
    try:
        shape, numbers = _shape_of(form, values)
        plan = plans.get(shape)
    except TypeError:  # an option no shape can hold (a list, say): counted cell by cell
        return cells_of(form, values, structure, offered)
    if plan is None:
        if len(plans) >= _SHAPES_MAX:
            return cells_of(form, values, structure, offered)
        plan = plans[shape] = _plan_shape(form, values, structure, offered)
    return _applied(plan, numbers)


def _applied(plan: _Shape, numbers: list[int]) -> Cells:
    out: Cells = {}
    if plan.single is not None:
        got = plan.single(numbers)
        out = dict(zip(plan.single_keys, got if len(plan.single_keys) > 1 else (got,), strict=True))
    for key, getter in plan.summed:
        got = getter(numbers)
        out[key] = sum(got) if isinstance(got, tuple) else got
    for key, n in plan.constants:
        out[key] = out.get(key, 0) + n
    return out


# A shape taken from the engine's reading starts with this mark (never equal to a shape of
# values, whose cells' options travel as numbers where they are ages).
_READ = ("read",)
_readable: dict[int, tuple[CompiledForm, bool]] = {}


def _reads_cells(form: CompiledForm) -> bool:
    """Whether the engine's reading gives this form's shapes: every element counted either has
    cells of counts or is one value (dimensioned booleans and choices count by their values)."""
    hit = _readable.get(id(form))
    if hit is None or hit[0] is not form:
        ok = all(
            kind == "cells" or not form.elements[code].dims for code, kind, *_ in _layout(form)
        )
        hit = _readable[id(form)] = (form, ok)
    return hit[1]


def _shape_of_read(form: CompiledForm, read: Read) -> tuple[Any, list[int]]:
    """_shape_of from the engine's reading: each element's cell keys in the order read (the
    reading holds no missing value, and counts are ints)."""
    shape: list[Any] = [_READ]
    numbers: list[int] = []
    for code, kind, _key_of, _options_of, _keys in _layout(form):
        store = read.get(code)
        if store is None:
            shape.append(None)
        elif kind == "cells":
            shape.append(tuple(store))
            numbers.extend(store.values())
        elif kind == "choice":
            v = store[()]
            shape.append((type(v), v))
        else:
            shape.append(True)
            v = store[()]
            numbers.append(int(v) if kind == "count" else 1 if v else 0)
    return tuple(shape), numbers


def _in_read_order(form: CompiledForm, read: Read) -> dict[str, Any]:
    """The values the engine read, with each element's cells in the order read (for planning a
    shape of the reading: _plan_shape numbers the cells in this order)."""
    out: dict[str, Any] = {}
    for code, store in read.items():
        dims = form.elements[code].dims
        if dims:
            out[code] = [{**dict(zip(dims, k, strict=True)), "value": v} for k, v in store.items()]
        else:
            out[code] = store[()]
    return out


def pair_cells(base: Cells, outcome: Cells) -> Cells:
    """A school's two consecutive years as one flow contribution."""
    out = {
        f"{side}:{k}": v
        for side, cells in (("0", base), ("1", outcome))
        for k, v in cells.items()
        if element_of(k) in _FLOW_ELEMENTS
    }
    out["_pair"] = 1
    return out


def pair_status(a: str, b: str) -> str:
    return a if _RANK.get(a, 0) <= _RANK.get(b, 0) else b


_SCHOOLS = itemgetter(1)  # of a delta (sum, schools)


class _Deltas:
    """Changes to the totals, merged by primary key before they are written."""

    def __init__(self) -> None:
        # place -> a contribution's keys (in its order) -> [sums, schools]: contributions of one
        # shape add as whole lists, and are merged key by key once per place and shape.
        self._groups: dict[Place, dict[tuple[str, ...], list[Any]]] = {}
        self._merged: dict[Place, dict[str, tuple[int, int]]] | None = None
        self.removed = False  # a contribution was taken out: some rows may reach zero schools

    def add(self, place: Place, cells: Cells, sign: int) -> None:
        self._merged = None
        if sign < 0:
            self.removed = True
        groups = self._groups.get(place)
        if groups is None:
            groups = self._groups[place] = {}
        keys = tuple(cells)
        group = groups.get(keys)
        values = cells.values()
        if group is None:
            groups[keys] = [list(values) if sign > 0 else list(map(neg, values)), sign]
        else:
            group[0] = list(map(add if sign > 0 else sub, group[0], values))
            group[1] += sign

    @property
    def by_place(self) -> dict[Place, dict[str, tuple[int, int]]]:
        """place -> key -> [sum, schools]."""
        if self._merged is None:
            merged: dict[Place, dict[str, tuple[int, int]]] = {}
            for place, groups in self._groups.items():
                if len(groups) == 1:  # one shape: its rows made in C
                    ((keys, (sums, n)),) = groups.items()
                    merged[place] = dict(zip(keys, zip(sums, repeat(n)), strict=True))
                    continue
                # Shapes added key by key, but in C (map over the keys, no Python loop): the
                # sums and the schools in two dicts that take their keys in the same order.
                total: dict[str, int] = {}
                schools: dict[str, int] = {}
                for keys, (sums, n) in groups.items():
                    total.update(
                        zip(keys, map(add, map(total.get, keys, repeat(0)), sums), strict=True)
                    )
                    schools.update(
                        zip(
                            keys,
                            map(add, map(schools.get, keys, repeat(0)), repeat(n)),
                            strict=True,
                        )
                    )
                merged[place] = dict(
                    zip(total, zip(total.values(), schools.values(), strict=True), strict=True)
                )
            self._merged = merged
        return self._merged

    @property
    def rows(self) -> dict[tuple[Any, ...], tuple[int, int]]:
        """The deltas by primary key (year, form, element, unit, key, status, ownership,
        locality)."""
        return {
            (year, form, element_of(key), unit, key, status, own, loc): d
            for (year, form, unit, status, own, loc), rows in self.by_place.items()
            for key, d in rows.items()
        }

    def write(self, session: Session, table: Any, docs: bool = False) -> None:
        """Add the deltas to the table, each place's rows sent as one JSON object {key: [sum,
        schools]} (the database makes the primary keys and adds them in key order, so concurrent
        writers lock rows in one order), about 20,000 rows a statement; with `docs`, the cells
        indicators do not read go to their documents instead."""
        places: list[tuple[Place, dict[str, tuple[int, int]]]] = []
        by_doc: dict[Place, dict[str, tuple[int, int]]] = {}
        for place, deltas in self.by_place.items():
            if docs:
                rows = {k: d for k, d in deltas.items() if (d[0] or d[1]) and _row_element(k)}
                doc = {k: d for k, d in deltas.items() if (d[0] or d[1]) and not _row_element(k)}
                if doc:
                    by_doc[place] = doc
            else:
                rows = {k: d for k, d in deltas.items() if d[0] or d[1]}
            if rows:
                places.append((place, rows))
        if by_doc:
            self._write_docs(session, by_doc, self.removed)
        if not places:
            return
        t = table.__table__
        dialect = session.get_bind().dialect.name
        new_splits = sorted({place for place, _ in places})
        for i in range(0, len(new_splits), 2000):
            chunk = [[*p, {}] for p in new_splits[i : i + 2000]]
            session.execute(_new_splits_sql(dialect), {"rows": _places_json(session, chunk)})
        sql = _add_rows_sql(dialect, t.name)
        chunk, size = [], 0
        for n, (place, rows) in enumerate(places, 1):
            chunk.append([*place, rows])
            size += len(rows)
            if size >= 20000 or n == len(places):
                session.execute(sql, {"rows": _places_json(session, chunk)})
                chunk, size = [], 0
        if not self.removed:
            return
        # A cell no school gives any more leaves no row behind (only rows that lost a school
        # can have reached zero, and a row of no school is never kept).
        sp = table_of(IndicatorSplit)
        fields = [sp.c[f] for f in _SPLIT_FIELDS]
        emptied = [p for p, rows in places if min(map(_SCHOOLS, rows.values())) < 0]
        for i in range(0, len(emptied), 500):
            splits = select(sp.c.id).where(keys_in(fields, emptied[i : i + 500]))
            session.execute(delete(t).where(t.c.split_id.in_(splits), t.c.schools == 0))

    @staticmethod
    def _write_docs(
        session: Session, by_doc: dict[Place, dict[str, tuple[int, int]]], removed: bool
    ) -> None:
        """Merge deltas (by split: its document's key, then cell) into the documents, one
        statement per 500 documents, in key order (the database adds each key's [sum, schools]
        and drops keys that reach zero); a document left with no cell goes (only a document
        that lost a school can: `removed`, a contribution was taken out)."""
        keys = sorted(by_doc)
        dialect = session.get_bind().dialect.name
        if dialect == "sqlite":
            _merge_docs_here(session, keys, by_doc)
            return
        merge = _merge_docs_sql()
        step = DOCS_PER_STATEMENT
        for i in range(0, len(keys), step):
            chunk = [[*k, by_doc[k]] for k in keys[i : i + step]]
            session.execute(merge, {"rows": _places_json(session, chunk)})
        if not removed:
            return
        emptied = [k for k in keys if min(map(_SCHOOLS, by_doc[k].values())) < 0]
        t = table_of(IndicatorCells)
        for i in range(0, len(emptied), step):
            session.execute(
                delete(t).where(
                    keys_in(list(t.primary_key.columns), emptied[i : i + step]),
                    func.length(cast(t.c.cells, String)) <= 2,  # "{}"
                )
            )


def _merge_docs_here(
    session: Session, keys: list[Place], by_doc: dict[Place, dict[str, tuple[int, int]]]
) -> None:
    """SQLite: the keeper runs in the one write transaction (BEGIN IMMEDIATE), so no other
    writer can come between reading a document and writing it back, and merging in Python
    spares SQLite taking apart and rebuilding every document with json_each, GROUP BY and
    json_group_object (as long as the totals upsert in a py-spy profile). Same result: each key's [sum, schools] added, keys that reach zero
    dropped, a document left with no cell deleted."""
    t = table_of(IndicatorCells)
    pk = list(t.primary_key.columns)
    step = DOCS_PER_STATEMENT
    found: dict[tuple[Any, ...], dict[str, list[int]]] = {}
    for i in range(0, len(keys), step):
        got = session.scalar(_docs_of_sql(), {"rows": orjson.dumps(keys[i : i + step]).decode()})
        found.update((tuple(r[:-1]), r[-1]) for r in orjson.loads(got or "[]"))
    fresh, changed, emptied = [], [], []
    names = [c.name for c in pk]
    for k in keys:
        delta = by_doc[k]
        doc = found.get(k)
        if doc is None:
            fresh.append({**dict(zip(names, k, strict=True)), "cells": delta})
            continue
        for key, (v, n) in delta.items():
            old = doc.get(key)
            if old is not None:
                v, n = old[0] + v, old[1] + n
            if v or n:
                doc[key] = [v, n]
            elif old is not None:
                del doc[key]
        if doc:
            changed.append({**{f"k_{c}": x for c, x in zip(names, k, strict=True)}, "cells": doc})
        else:
            emptied.append(k)
    if fresh:
        session.execute(insert(t), fresh)
    if changed:
        session.execute(update(t).where(*(c == bindparam(f"k_{c.name}") for c in pk)), changed)
    for i in range(0, len(emptied), step):
        session.execute(delete(t).where(keys_in(pk, emptied[i : i + step])))


@cache
def _docs_of_sql() -> Any:
    """SQLite: the documents of a JSON array of places, each found by its primary key (one
    statement text whatever the number of places, so it is compiled once; built as an OR of
    key terms per call, the statement cost the keeper more in Python than the reading), all
    in one JSON array [[place…, cells], …] (one step of the engine, see core.db.rows_by_ids)."""
    on = " AND ".join(
        f"c.{f} = json_extract(r.value, '$[{j}]')" for j, f in enumerate(_SPLIT_FIELDS)
    )
    cols = ", ".join(f"c.{f}" for f in _SPLIT_FIELDS)
    return text(
        f"SELECT json_group_array(json_array({cols}, json(c.cells))) "
        f"FROM json_each(:rows) AS r JOIN indicator_cells AS c ON {on}"
    )


def _places_json(session: Session, chunk: list[list[Any]]) -> str:
    """[[year, form, unit, status, ownership, locality, {key: [sum, schools]}], …] as the
    statement reads it: arrays for SQLite's json_each, objects for PostgreSQL's
    json_to_recordset (which types every field in one pass)."""
    if session.get_bind().dialect.name == "postgresql":
        return orjson.dumps([dict(zip(_SHORT, r, strict=True)) for r in chunk]).decode()
    return orjson.dumps(chunk).decode()


_SPLIT_FIELDS = ("year", "form_code", "unit_id", "status", "ownership", "locality")


def _place_source(dialect: str) -> tuple[str, list[str], str]:
    """How a statement reads a JSON array of places (see _places_json): its FROM, the six
    fields of a place, and its {key: [sum, schools]}."""
    if dialect == "postgresql":
        source = (
            "json_to_recordset(CAST(:rows AS json)) "
            "AS r(a int, b text, c int, d text, e text, f text, g json)"
        )
        return source, [f"r.{x}" for x in "abcdef"], "r.g"
    return (
        "json_each(:rows) AS r",
        [f"json_extract(r.value, '$[{j}]')" for j in range(6)],
        "r.value, '$[6]'",
    )


def _same_split(fields: list[str]) -> str:
    return " AND ".join(f"s.{f} = {x}" for f, x in zip(_SPLIT_FIELDS, fields, strict=True))


@lru_cache(maxsize=2)
def _new_splits_sql(dialect: str) -> Any:
    """INSERT of the places of a JSON array that have no split yet, in key order (so writers
    that create the same splits wait for each other instead of deadlocking; one that waited
    finds the other's split committed in its next statement, read committed)."""
    source, fields, _ = _place_source(dialect)
    return text(
        f"INSERT INTO indicator_split ({', '.join(_SPLIT_FIELDS)}) SELECT {', '.join(fields)} "
        f"FROM {source} WHERE NOT EXISTS (SELECT 1 FROM indicator_split AS s "
        f"WHERE {_same_split(fields)}) ORDER BY 1, 2, 3, 4, 5, 6 ON CONFLICT DO NOTHING"
    )


@lru_cache(maxsize=8)
def _add_rows_sql(dialect: str, table: str) -> Any:
    """INSERT … ON CONFLICT that adds a JSON array of places, each with its rows {key: [sum,
    schools]}, into a totals table keyed by (split, key), in that order; the database finds
    each place's split and cuts each key's element."""
    source, fields, rows = _place_source(dialect)
    if dialect == "postgresql":
        each = f"CROSS JOIN LATERAL json_each({rows}) AS c"
        element = "split_part(c.key, '|', 1)"
        value = "CAST(c.value->>0 AS bigint), CAST(c.value->>1 AS int)"
    else:
        each = f"JOIN json_each({rows}) AS c"
        cut = "instr(c.key, '|')"
        element = f"CASE WHEN {cut} > 0 THEN substr(c.key, 1, {cut} - 1) ELSE c.key END"
        value = "json_extract(c.value, '$[0]'), json_extract(c.value, '$[1]')"
    return text(
        f"INSERT INTO {table} (split_id, key, element, value, schools) "
        f"SELECT s.id, c.key, {element}, {value} FROM {source} "
        f"JOIN indicator_split AS s ON {_same_split(fields)} {each} ORDER BY 1, 2 "
        f"ON CONFLICT (split_id, key) DO UPDATE SET value = {table}.value + excluded.value, "
        f"schools = {table}.schools + excluded.schools"
    )


def _merge_docs_sql() -> Any:
    """PostgreSQL: INSERT … ON CONFLICT that adds a JSON array of [pk…, {key: [sum, schools]}]
    rows into `indicator_cells`, key by key, in the database (SQLite merges in Python,
    _merge_docs_here)."""
    names = "year, form_code, unit_id, status, ownership, locality"
    source = (
        "json_to_recordset(CAST(:rows AS json)) "
        "AS r(a int, b text, c int, d text, e text, f text, g json)"
    )
    each = "SELECT key AS k, CAST(value->>0 AS bigint) AS v, CAST(value->>1 AS bigint) AS n FROM json_each({})"
    merged = (
        "SELECT coalesce(json_object_agg(k, json_build_array(v, n)), CAST('{{}}' AS json)) "
        "FROM (SELECT k, sum(v) AS v, sum(n) AS n FROM ({} UNION ALL {}) AS u GROUP BY k "
        "HAVING sum(v) <> 0 OR sum(n) <> 0) AS s"
    )
    merge = merged.format(each.format("indicator_cells.cells"), each.format("excluded.cells"))
    return text(
        f"INSERT INTO indicator_cells ({names}, cells) SELECT a, b, c, d, e, f, g FROM {source} "
        f"ON CONFLICT ({names}) DO UPDATE SET cells = ({merge})"
    )


def refresh(session: Session, dirty: Dirty) -> None:
    """The keeper: move the contributions of every return marked (directly or through its
    school) from where they were counted to where they belong now."""
    if dirty.get("structure"):
        rebuild(session)
        return
    ids = set(dirty.get("return", ()))
    if dirty.get("school"):
        ids |= {r.id for r in returns.return_states_of_schools(session, dirty["school"])}
    if ids:
        _refresh_returns(session, ids)


@dataclass(frozen=True)
class Placement:
    """A return as counted (a row of `indicator_placement`)."""

    return_id: int
    school_id: int
    year: int
    form_code: str
    form_version: int
    revision: int
    unit_id: int
    ownership: str
    locality: str
    status: str
    levels: tuple[str, ...]
    figures: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def row(self) -> dict[str, Any]:
        return {**self.__dict__, "levels": list(self.levels)}


_PLACEMENT_FIELDS = tuple(Placement.__dataclass_fields__)


@lru_cache(maxsize=1024)
def _teacher_keys(keys: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """(key, level) of a contribution's keys that count teachers by level (teachers|level|…);
    returns of one shape share their keys, so this is found once per shape."""
    out = []
    for k in keys:
        if k.startswith("teachers|"):
            parts = k.split("|", 2)
            if len(parts) == 3:
                out.append((k, parts[1]))
    return tuple(out)


def school_summary(cells: Cells, structure: Structure) -> dict[str, Any]:
    """What a list of schools shows of one return: per education level [pupils, girls,
    repeaters, teachers (None when the form has no teachers by level)], all pupils, and the
    classrooms (None when not asked)."""
    levels: dict[str, list[int | None]] = {}
    all_pupils = 0
    teachers: dict[str, int] = {}  # level -> teachers, for the levels the return gives any
    get = cells.get
    for key, level in _teacher_keys(tuple(cells)):
        teachers[level] = teachers.get(level, 0) + cells[key]
    for code, pupil_keys, girl_keys, repeater_keys in structure.summary_keys:
        pupils = sum(map(get, pupil_keys, repeat(0)))
        girls = sum(map(get, girl_keys, repeat(0)))
        repeaters = sum(map(get, repeater_keys, repeat(0)))
        levels[code] = [pupils, girls, repeaters, teachers.get(code)]
        all_pupils += pupils
    rooms_keys = ("classrooms|good", "classrooms|needs_repair")
    rooms = (
        sum(cells.get(k, 0) for k in rooms_keys) if any(k in cells for k in rooms_keys) else None
    )
    return {"levels": levels, "pupils": all_pupils, "classrooms": rooms}


def _with_figures(
    placements: Iterable[Placement],
    counted: dict[tuple[int, int, tuple[str, ...]], Cells],
    structure: Structure,
    summaries: dict[tuple[int, int, tuple[str, ...]], dict[str, Any]] | None = None,
) -> list[Placement]:
    out = []
    for p in placements:
        k = (p.return_id, p.revision, tuple(p.levels))
        known = summaries.get(k) if summaries else None
        out.append(replace(p, figures=known or school_summary(counted[k], structure)))
    return out


def _placement_of(st: ReturnState, school: registry.SchoolPlacement) -> Placement:
    """Where a return counts now: its current revision and status, its school's place."""
    return Placement(
        st.id,
        st.school_id,
        st.year,
        st.form,
        st.form_version,
        st.revision,
        school.unit_id,
        school.ownership,
        school.locality,
        st.status,
        tuple(school.levels),
    )


def _placements(session: Session, *where: Any) -> dict[int, Placement]:
    t = table_of(IndicatorPlacement)
    out = {}
    for r in session.execute(select(*[t.c[f] for f in _PLACEMENT_FIELDS]).where(*where)):
        p = Placement(*r[:-2], tuple(r[-2] or ()), r[-1] or {})  # type: ignore[call-arg]  # the fields in order
        out[p.return_id] = p
    return out


def _placements_near(
    session: Session, ids: Iterable[int], schools: Iterable[int], years: Iterable[int]
) -> dict[int, Placement]:
    """Where these returns were counted, and in the same query where these schools' returns
    of these years were (one statement text whatever the numbers: see core.db.rows_by_ids)."""
    sql = _placements_sql(session.get_bind().dialect.name)
    rows = rows_of(session, sql, ids=sorted(ids), schools=sorted(schools), years=sorted(years))
    out = {}
    for r in rows:
        p = Placement(*r[:-2], tuple(r[-2] or ()), r[-1] or {})  # type: ignore[call-arg]  # the fields in order
        out[p.return_id] = p
    return out


@lru_cache(maxsize=2)
def _placements_sql(dialect: str) -> Any:
    names = ", ".join(_PLACEMENT_FIELDS)
    if dialect == "postgresql":
        return text(
            f"SELECT {names} FROM indicator_placement WHERE return_id = ANY(:ids) "
            "OR (school_id = ANY(:schools) AND year = ANY(:years))"
        )
    rows = sqlite_json_rows(table_of(IndicatorPlacement), _PLACEMENT_FIELDS)
    return text(
        f"SELECT {rows} FROM indicator_placement "
        "WHERE return_id IN (SELECT value FROM json_each(:ids)) "
        "OR (school_id IN (SELECT value FROM json_each(:schools)) "
        "AND year IN (SELECT value FROM json_each(:years)))"
    )


@lru_cache(maxsize=2)
def _insert_placements_sql(dialect: str) -> Any:
    """INSERT of a JSON array of placements (objects of their fields) in one statement."""
    names = ", ".join(_PLACEMENT_FIELDS)
    if dialect == "postgresql":
        text_fields = {"form_code", "ownership", "locality", "status"}
        record = ", ".join(
            f"{f} {'jsonb' if f in ('levels', 'figures') else 'text' if f in text_fields else 'int'}"
            for f in _PLACEMENT_FIELDS
        )
        source = f"SELECT {names} FROM json_to_recordset(CAST(:rows AS json)) AS r({record})"
    else:
        picks = ", ".join(f"json_extract(value, '$.{f}')" for f in _PLACEMENT_FIELDS)
        source = f"SELECT {picks} FROM json_each(:rows)"
    return text(f"INSERT INTO indicator_placement ({names}) {source}")


def _store_placements(session: Session, fresh: list[Placement], changed: list[Placement]) -> None:
    t = table_of(IndicatorPlacement)
    if fresh:
        sql = _insert_placements_sql(session.get_bind().dialect.name)
    for i in range(0, len(fresh), 2000):
        chunk = [p.__dict__ for p in fresh[i : i + 2000]]  # levels (a tuple) as an array
        session.execute(sql, {"rows": orjson.dumps(chunk).decode()})
    if changed:
        fields = [f for f in _PLACEMENT_FIELDS if f != "return_id"]
        session.execute(
            update(t)
            .where(t.c.return_id == bindparam("b_id"))
            .values({f: bindparam(f"b_{f}") for f in fields}),
            [{"b_id": p.return_id, **{f"b_{f}": p.row()[f] for f in fields}} for p in changed],
        )


def _refresh_returns(session: Session, ids: set[int]) -> None:
    structure = structure_of(session)
    states = returns.return_states(session, ids)
    schools = registry.school_placements(session, {s.school_id for s in states.values()})
    # Where these returns were counted, and in the same query the same schools' returns of
    # the neighbouring years, whose pairs change with these.
    years = {(s.school_id, s.form, s.year) for s in states.values()}
    found = _placements_near(
        session, ids, {y[0] for y in years}, {y[2] + d for y in years for d in (-1, 1)}
    )
    old = {rid: p for rid, p in found.items() if rid in ids}
    partners = {
        p.return_id: p
        for p in found.values()
        if p.return_id not in ids
        and (
            (p.school_id, p.form_code, p.year + 1) in years
            or (p.school_id, p.form_code, p.year - 1) in years
        )
    }
    new = {rid: _placement_of(st, schools[st.school_id]) for rid, st in states.items()}
    summaries: dict[tuple[int, int, tuple[str, ...]], dict[str, Any]] = {}
    counted = _count(
        session, [*old.values(), *new.values(), *partners.values()], structure, summaries
    )
    new = {p.return_id: p for p in _with_figures(new.values(), counted, structure, summaries)}

    def key(p: Placement) -> tuple[Any, ...]:
        return (p.revision, p.status, p.unit_id, p.ownership, p.locality, tuple(p.levels))

    one_year, flows = _Deltas(), _Deltas()
    for rid in ids:
        before, after = old.get(rid), new.get(rid)
        if before is not None and after is not None and key(before) == key(after):
            continue
        if before is not None:
            one_year.add(*_as_delta(counted, before), -1)
        if after is not None:
            one_year.add(*_as_delta(counted, after), +1)

    # Pairs: each (school, form, base year) touched, before and after.
    def by_year(placements: Iterable[Placement]) -> dict[tuple[int, str, int], Any]:
        return {(p.school_id, p.form_code, p.year): p for p in placements}

    before_by = by_year([*partners.values(), *old.values()])
    after_by = by_year([*partners.values(), *new.values()])
    pairs = {(s, f, y + d) for s, f, y in years for d in (-1, 0)}
    for s, f, t in sorted(pairs):
        b = (before_by.get((s, f, t)), before_by.get((s, f, t + 1)))
        a = (after_by.get((s, f, t)), after_by.get((s, f, t + 1)))
        if b[0] is not None and b[1] is not None:
            if (
                a[0] is not None
                and a[1] is not None
                and key(a[0]) == key(b[0])
                and key(a[1]) == key(b[1])
            ):
                continue
            flows.add(*_pair_delta(counted, b[0], b[1]), -1)
        if a[0] is not None and a[1] is not None:
            flows.add(*_pair_delta(counted, a[0], a[1]), +1)
    one_year.write(session, IndicatorTotal, docs=True)
    flows.write(session, FlowTotal)
    gone = [rid for rid in ids if rid in old and rid not in new]
    if gone:
        session.execute(
            delete(IndicatorPlacement).where(col(IndicatorPlacement.return_id).in_(gone))
        )
    _store_placements(
        session,
        [p for rid, p in new.items() if rid not in old],
        [
            p
            for rid, p in new.items()
            if rid in old and (key(old[rid]) != key(p) or old[rid].figures != p.figures)
        ],
    )


def prepare_contributions(session: Session, items: list[Item]) -> list[Any]:
    """Before the write transaction (app.core.derived): each revision's contribution and its
    school's summary, for the school's levels and the education structure as read now; the
    keeper uses them only when both are still the same inside the transaction."""
    structure = structure_of(session)
    schools = registry.school_placements(session, {item[3] for item in items})
    out: list[Any] = []
    forms: dict[tuple[str, int], CompiledForm | None] = {}
    for code, version, values, school_id, read in items:
        if (code, version) not in forms:  # one cache lookup a form, not one a return
            forms[(code, version)] = _forms.get(session, code, version)
        form = forms[(code, version)]
        school = schools.get(school_id)
        if form is None or school is None:
            out.append(None)
            continue
        offered = tuple(school.levels)
        cells = contribution(form, values, structure, offered, read)
        out.append((form, structure, offered, cells, school_summary(cells, structure)))
    return out


def _count(
    session: Session,
    placements: Sequence[Placement],
    structure: Structure,
    summaries: dict[tuple[int, int, tuple[str, ...]], dict[str, Any]] | None = None,
) -> dict[tuple[int, int, tuple[str, ...]], Cells]:
    """Cells of each (return, revision, levels offered) these placements name; with
    `summaries`, the school summaries prepared with them are put there."""
    wanted = {(p.return_id, p.revision) for p in placements}
    values = returns.revision_values(session, wanted)
    out: dict[tuple[int, int, tuple[str, ...]], Cells] = {}
    for p in placements:
        k = (p.return_id, p.revision, tuple(p.levels))
        if k in out:
            continue
        form = _forms.get(session, p.form_code, p.form_version)
        v = values.get((p.return_id, p.revision))
        if form is None or v is None:
            out[k] = {}
            continue
        ahead = prepared(session, prepare_contributions, v)
        if ahead is not None and ahead[0] is form and ahead[1] is structure and ahead[2] == k[2]:
            out[k] = ahead[3]
            if summaries is not None:
                summaries[k] = ahead[4]
        else:
            out[k] = contribution(form, v, structure, p.levels)
    return out


def _place(p: Placement, status: str | None = None) -> Place:
    return (p.year, p.form_code, p.unit_id, status or p.status, p.ownership, p.locality)


def _as_delta(
    counted: dict[tuple[int, int, tuple[str, ...]], Cells], p: Placement
) -> tuple[Place, Cells]:
    return _place(p), counted[(p.return_id, p.revision, tuple(p.levels))]


def _pair_delta(
    counted: dict[tuple[int, int, tuple[str, ...]], Cells],
    base: Placement,
    outcome: Placement,
) -> tuple[Place, Cells]:
    cells = pair_cells(
        counted[(base.return_id, base.revision, tuple(base.levels))],
        counted[(outcome.return_id, outcome.revision, tuple(outcome.levels))],
    )
    # Counted where the school is in the outcome year, under the lower of the two statuses.
    place = _place(outcome, pair_status(base.status, outcome.status))
    return (base.year, *place[1:]), cells


def rebuild(session: Session, progress: Any = None) -> int:
    """Recompute every total from the returns' current revisions, from nothing (a different
    path from the deltas: the sums are made here, not moved). Returns the returns counted."""
    one_year, flows, placements = recount(session, progress)
    for t in (IndicatorTotal, IndicatorCells, FlowTotal, IndicatorPlacement):
        session.execute(delete(t))
    one_year.write(session, IndicatorTotal, docs=True)
    flows.write(session, FlowTotal)
    _store_placements(session, placements, [])
    note_audit(session, "indicators.rebuild", "*", returns=len(placements))
    return len(placements)


def recount(session: Session, progress: Any = None) -> tuple["_Deltas", "_Deltas", list[Placement]]:
    """Every total as it should be, summed afresh from the returns (nothing is written)."""
    structure = structure_of(session)
    one_year, flows = _Deltas(), _Deltas()
    placements: list[Placement] = []
    counted_keep: dict[tuple[int, str, int], tuple[Placement, Cells]] = {}
    after = 0
    while True:
        page: list[ReturnState] = returns.all_return_states(session, after)
        if not page:
            break
        after = page[-1].id
        schools = registry.school_placements(session, {s.school_id for s in page})
        batch = [_placement_of(st, schools[st.school_id]) for st in page]
        counted = _count(session, batch, structure)
        batch = _with_figures(batch, counted, structure)
        for p in batch:
            one_year.add(*_as_delta(counted, p), +1)
            p_cells = counted[(p.return_id, p.revision, tuple(p.levels))]
            # Only what a pair needs is kept for the pairs (a country's cells would not fit).
            flow_part = {k: v for k, v in p_cells.items() if element_of(k) in _FLOW_ELEMENTS}
            counted_keep[(p.school_id, p.form_code, p.year)] = (p, flow_part)
        placements += batch
        if progress:
            progress(len(page))
    for (s, f, y), (p, cells) in sorted(counted_keep.items()):
        nxt = counted_keep.get((s, f, y + 1))
        if nxt is None:
            continue
        q, next_cells = nxt
        place = _place(q, pair_status(p.status, q.status))
        flows.add((y, *place[1:]), pair_cells(cells, next_cells), +1)
    return one_year, flows, placements


def table_rows(session: Session, table: Any) -> dict[tuple[Any, ...], tuple[int, int]]:
    """A totals table as {(year, form, element, unit, key, status, ownership, locality): (value,
    schools)} (for checks against a recount)."""
    t, sp = table.__table__, table_of(IndicatorSplit)
    q = select(
        sp.c.year, sp.c.form_code, t.c.element, sp.c.unit_id, t.c.key, sp.c.status,
        sp.c.ownership, sp.c.locality, t.c.value, t.c.schools,
    ).join_from(t, sp, sp.c.id == t.c.split_id)  # fmt: skip
    return {tuple(r[:8]): (int(r[8]), int(r[9])) for r in session.execute(q)}


def kept_rows(session: Session) -> dict[tuple[Any, ...], tuple[int, int]]:
    """The one-year totals as kept, rows and documents together, keyed like a recount."""
    out = table_rows(session, IndicatorTotal)
    for r in session.execute(select(table_of(IndicatorCells))).mappings():
        for key, (v, n) in r["cells"].items():
            pk = (r["year"], r["form_code"], element_of(key), r["unit_id"], key, r["status"])
            out[(*pk, r["ownership"], r["locality"])] = (int(v), int(n))
    return out


def delta_rows(deltas: "_Deltas") -> dict[tuple[Any, ...], tuple[int, int]]:
    return {pk: (d[0], d[1]) for pk, d in deltas.rows.items() if d[0] or d[1]}


register(refresh)
register_preparer(prepare_contributions)
