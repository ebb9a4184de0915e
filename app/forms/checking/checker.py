"""The check engine: structure, rules and plausibility, identical in the server and the client.

Paths name the offending cell: `values.enrolment[3]` is the fourth cell sent for enrolment;
`values.repeaters[grade=P1,sex=F]` is the combination a rule failed for; `values.seats` a plain
value. Missing (no cell) is never the same as 0."""

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from operator import itemgetter
from typing import Any

from app.forms.checking.definition import PAIR_OPS, FormDefinition, Rule, text_in
from app.forms.checking.expr import (
    BinOp,
    Neg,
    Node,
    Num,
    Ref,
    parse_condition,
    parse_expr,
    refs,
)
from app.forms.checking.messages import EXPECTED, LANGUAGES, Message, message

MAX_COUNT = 2_147_483_647  # no census count comes near; larger is a typing or export error
_FAILED = {"==": "≠", "!=": "=", "<": "≥", "<=": ">", ">": "≤", ">=": "<"}
Fn = Callable[[list[Any]], float | None]
Cells = dict[str, dict[tuple[str, ...], Any]]
Spec = tuple[str, tuple[int, ...], tuple[tuple[int, frozenset[str]], ...]]


@dataclass(frozen=True)
class Finding:
    """One thing the checks found: a stable code, the cell's path, a message, a severity."""

    code: str
    path: str
    message: str
    severity: str

    def as_dict(self) -> dict[str, str]:
        """The finding as the API sends it."""
        return {
            "code": self.code,
            "path": self.path,
            "message": str(self.message),
            "severity": self.severity,
        }

    def as_stored(self) -> dict[str, Any]:
        """The finding as a revision keeps it: also its text in every language (`messages`),
        so that each later reader gets their own."""
        out: dict[str, Any] = self.as_dict()
        if isinstance(self.message, Message):
            out["messages"] = dict(self.message.texts)
        return out


@dataclass
class CheckResult:
    structure_errors: list[Finding] = field(default_factory=list)
    rule_errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return self.structure_errors + self.rule_errors

    @property
    def status(self) -> str:
        """rejected (structure errors: nothing stored), invalid (rule errors) or ok."""
        if self.structure_errors:
            return "rejected"
        return "invalid" if self.rule_errors else "ok"


@dataclass(frozen=True)
class _Element:
    code: str
    dims: tuple[str, ...]
    options: tuple[frozenset[str], ...]
    option_maps: tuple[dict[Any, str], ...]
    type: str
    choices: frozenset[str]
    required: bool


@dataclass(frozen=True)
class _RulePlan:
    """A rule ready to run: one aggregation per distinct reference, sides compiled to closures."""

    rule: Rule
    spec_ids: tuple[int, ...]
    left: Fn
    right: Fn
    left_idx: tuple[int, ...]
    right_idx: tuple[int, ...]
    side_idx: tuple[int, ...]
    when: tuple[Fn, str, Fn, tuple[int, ...]] | None
    path_element: str
    test: Callable[[list[Any], str], str | None] = lambda vals, lang: None


class CompiledForm:
    """A definition prepared for fast checking; build once with compile_form, reuse."""

    def __init__(self, defn: FormDefinition) -> None:
        self.definition = defn
        cats = defn.categories
        self.elements: dict[str, _Element] = {}
        for e in defn.elements:
            options = tuple(frozenset(cats[d].options) for d in e.dimensions)
            self.elements[e.code] = _Element(
                e.code,
                tuple(e.dimensions),
                options,
                tuple(_option_map(o) for o in options),
                e.type,
                frozenset(e.choices or ()),
                e.required,
            )
        self._specs: list[Spec] = []
        self.rules = [self._plan(r) for r in defn.rules]
        self._sources = [self._source(i) for i in range(len(self._specs))]
        self.plausibility = defn.plausibility

    def _source(self, spec_id: int) -> Spec | None:
        """A coarser aggregate is summed from a finer one of the same element instead of from
        every cell again: (source id, positions and filters re-expressed in the source's key).
        Sources are unfiltered and strictly finer, so there are no cycles."""
        element, pos, filters = self._specs[spec_id]
        need = set(pos) | {i for i, _ in filters}
        candidates = [
            j
            for j, (el2, pos2, filters2) in enumerate(self._specs)
            if j != spec_id
            and el2 == element
            and not filters2
            and need <= set(pos2)
            and (filters or len(pos2) > len(pos))
        ]
        if not candidates:
            return None
        best = min(candidates, key=lambda j: len(self._specs[j][1]))
        src_pos = self._specs[best][1]
        return (
            str(best),
            tuple(src_pos.index(i) for i in pos),
            tuple((src_pos.index(i), opts) for i, opts in filters),
        )

    def _spec_id(self, ref: Ref, for_each: list[str]) -> int:
        el = self.elements[ref.element]
        spec = (
            ref.element,
            tuple(el.dims.index(d) for d in for_each),
            tuple((el.dims.index(d), opts) for d, opts in ref.filters),
        )
        if spec not in self._specs:
            self._specs.append(spec)
        return self._specs.index(spec)

    def _plan(self, rule: Rule) -> _RulePlan:
        left, right = parse_expr(rule.left), parse_expr(rule.right)
        when = parse_condition(rule.when) if rule.when else None
        distinct: list[Ref] = []
        for ref in refs(left) + refs(right) + (refs(when) if when else []):
            if ref not in distinct:
                distinct.append(ref)
        index = {ref: i for i, ref in enumerate(distinct)}
        left_idx = tuple(dict.fromkeys(index[r] for r in refs(left)))
        right_idx = tuple(dict.fromkeys(index[r] for r in refs(right)))
        compiled_when = None
        if when is not None:
            compiled_when = (
                _compile(when.left, index),
                when.op,
                _compile(when.right, index),
                tuple(dict.fromkeys(index[r] for r in refs(when))),
            )
        plan = _RulePlan(
            rule=rule,
            spec_ids=tuple(self._spec_id(r, rule.for_each) for r in distinct),
            left=_compile(left, index),
            right=_compile(right, index),
            left_idx=left_idx,
            right_idx=right_idx,
            side_idx=tuple(dict.fromkeys(left_idx + right_idx)),
            when=compiled_when,
            path_element=refs(left)[0].element if refs(left) else "",
        )
        object.__setattr__(plan, "test", _make_test(plan))
        return plan

    # ------------------------------------------------------------ structure

    def _structure(self, values: Any, lang: str, out: list[Finding]) -> Cells:
        cells: Cells = {}
        if not isinstance(values, dict):
            out.append(Finding("NOT_AN_OBJECT", "values", message("NOT_AN_OBJECT", lang), "error"))
            return cells
        for code, raw in values.items():
            el = self.elements.get(code)
            path = f"values.{code}"
            if el is None:
                out.append(
                    Finding(
                        "UNKNOWN_ELEMENT",
                        path,
                        message("UNKNOWN_ELEMENT", lang, element=code),
                        "error",
                    )
                )
                continue
            if not el.dims:
                if isinstance(raw, list | dict):
                    out.append(
                        Finding(
                            "NOT_A_VALUE", path, message("NOT_A_VALUE", lang, element=code), "error"
                        )
                    )
                elif self._value_ok(el, raw, path, lang, out):
                    cells[code] = {(): raw}
                continue
            if not isinstance(raw, list):
                out.append(
                    Finding(
                        "NOT_A_LIST",
                        path,
                        message("NOT_A_LIST", lang, element=code, dims=", ".join(el.dims)),
                        "error",
                    )
                )
                continue
            cells[code] = self._cells(el, raw, path, lang, out)
        return cells

    def _cells(
        self, el: _Element, raw: list[Any], path: str, lang: str, out: list[Finding]
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
                out.append(
                    Finding(
                        "NOT_A_CELL",
                        f"{path}[{i}]",
                        message("NOT_A_CELL", lang, element=el.code, dims=", ".join(el.dims)),
                        "error",
                    )
                )
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
                out.append(
                    Finding(
                        "DUPLICATE_CELL",
                        f"{path}[{i}]",
                        message(
                            "DUPLICATE_CELL",
                            lang,
                            element=el.code,
                            key=", ".join(f"{d}={k}" for d, k in zip(el.dims, key, strict=True)),
                        ),
                        "error",
                    )
                )
                continue
            store[key] = value
        return store

    def _slow_cell(
        self, el: _Element, cell: dict[str, Any], path: str, lang: str, out: list[Finding]
    ) -> tuple[str, ...] | None:
        """Every problem of one cell, named; the key when the cell is usable."""
        key = []
        ok = True
        for dim, options in zip(el.dims, el.options, strict=True):
            if dim not in cell:
                out.append(
                    Finding(
                        "MISSING_DIMENSION",
                        path,
                        message("MISSING_DIMENSION", lang, element=el.code, dim=dim),
                        "error",
                    )
                )
                ok = False
                continue
            v = cell[dim]
            s = v if type(v) is str else str(v) if type(v) is int else None
            if s is None or s not in options:  # bool, float, list or an unknown option
                shown = sorted(options, key=lambda o: (len(o), o))
                out.append(
                    Finding(
                        "UNKNOWN_OPTION",
                        f"{path}.{dim}",
                        message(
                            "UNKNOWN_OPTION",
                            lang,
                            value=v,
                            dim=dim,
                            options=", ".join(shown[:12]) + (" …" if len(shown) > 12 else ""),
                        ),
                        "error",
                    )
                )
                ok = False
                continue
            key.append(s)
        for extra in cell.keys() - set(el.dims) - {"value"}:
            out.append(
                Finding(
                    "UNKNOWN_DIMENSION",
                    f"{path}.{extra}",
                    message("UNKNOWN_DIMENSION", lang, element=el.code, dim=extra),
                    "error",
                )
            )
            ok = False
        if "value" not in cell:
            out.append(
                Finding(
                    "MISSING_VALUE", path, message("MISSING_VALUE", lang, element=el.code), "error"
                )
            )
            return None
        if not self._value_ok(el, cell["value"], f"{path}.value", lang, out):
            return None
        return tuple(key) if ok else None

    def _value_ok(self, el: _Element, v: Any, path: str, lang: str, out: list[Finding]) -> bool:
        t = el.type
        if v is None:
            out.append(
                Finding("NULL_VALUE", path, message("NULL_VALUE", lang, element=el.code), "error")
            )
            return False
        if t == "count":
            if type(v) is int:
                if 0 <= v <= MAX_COUNT:
                    return True
                if v > MAX_COUNT:
                    out.append(
                        Finding(
                            "NUMBER_TOO_LARGE",
                            path,
                            message(
                                "NUMBER_TOO_LARGE", lang, element=el.code, value=v, limit=MAX_COUNT
                            ),
                            "error",
                        )
                    )
                    return False
                out.append(
                    Finding(
                        "NEGATIVE_COUNT",
                        path,
                        message("NEGATIVE_COUNT", lang, element=el.code, value=v),
                        "error",
                    )
                )
                return False
            ok = False
        elif t == "boolean":
            ok = type(v) is bool
        elif t == "choice":
            ok = type(v) is str and v in el.choices
        elif t == "text":
            ok = type(v) is str and len(v) <= 2000
        else:
            ok = type(v) is str and _is_date(v)
        if not ok:
            en, fr = EXPECTED[t]
            out.append(
                Finding(
                    "WRONG_TYPE",
                    path,
                    message(
                        "WRONG_TYPE",
                        lang,
                        element=el.code,
                        expected=en,
                        expected_fr=fr,
                        value=repr(v),
                    ),
                    "error",
                )
            )
        return ok

    # ------------------------------------------------------------ rules

    def _aggregate(
        self, spec_id: int, cells: Cells, cache: list[Any]
    ) -> dict[tuple[str, ...], float]:
        got = cache[spec_id]
        if got is not None:
            return got  # type: ignore[no-any-return]
        element, pos, filters = self._specs[spec_id]
        agg: dict[tuple[str, ...], float] = {}
        source = self._sources[spec_id]
        if source is not None:
            data = self._aggregate(int(source[0]), cells, cache)
            pos, filters = source[1], source[2]
        else:
            data = cells.get(element)  # type: ignore[assignment]
        if data:
            if (
                not filters
                and pos == tuple(range(len(pos)))
                and data
                and len(next(iter(data))) == len(pos)
            ):
                agg = data  # the rule groups by every dimension, in order: the cells themselves
            elif not pos and not filters:
                agg[()] = sum(data.values())
            else:
                combo_of = _key_getter(pos)
                get = agg.get
                if filters:
                    for cell_key, value in data.items():
                        for i, opts in filters:
                            if cell_key[i] not in opts:
                                break
                        else:
                            combo = combo_of(cell_key)
                            agg[combo] = get(combo, 0) + value
                else:
                    for cell_key, value in data.items():
                        combo = combo_of(cell_key)
                        agg[combo] = get(combo, 0) + value
        cache[spec_id] = agg
        return agg

    def _rules(self, cells: Cells, lang: str, result: CheckResult) -> None:
        cache: list[Any] = [None] * len(self._specs)
        # Rules over the same aggregates (repeaters vs enrolment by grade and sex, …) share one
        # table of values per combination.
        tables: dict[tuple[int, ...], list[tuple[tuple[str, ...], list[Any]]]] = {}
        for rp in self.rules:
            rows = tables.get(rp.spec_ids)
            if rows is None:
                aggs = [self._aggregate(sid, cells, cache) for sid in rp.spec_ids]
                combos: Any = ((),)
                if rp.rule.for_each:
                    combos = {}
                    for agg in aggs:
                        combos.update(dict.fromkeys(agg))
                rows = [(combo, [agg.get(combo) for agg in aggs]) for combo in combos]
                tables[rp.spec_ids] = rows
            test = rp.test
            for combo, vals in rows:
                detail = test(vals, lang)
                if detail is not None:
                    finding = self._finding(rp, combo, vals, lang)
                    (result.rule_errors if finding.severity == "error" else result.warnings).append(
                        finding
                    )

    def _finding(
        self, rp: _RulePlan, combo: tuple[str, ...], vals: list[Any], lang: str
    ) -> Finding:
        rule = rp.rule
        where = ",".join(f"{d}={v}" for d, v in zip(rule.for_each, combo, strict=True))
        path = f"values.{rp.path_element}" + (f"[{where}]" if where else "")
        texts = {}
        for lg in LANGUAGES:  # only failed rules get here: a few per return at most
            text = text_in(rule.message, lg) + f": {rp.test(vals, lg)}"
            texts[lg] = text + (f" ({where.replace(',', ', ')})" if where else "")
        return Finding(rule.code, path, Message.of(lang, texts), rule.severity)

    # ------------------------------------------------------------ plausibility

    def _plausibility(
        self, cells: Cells, previous: dict[str, Any] | None, lang: str, result: CheckResult
    ) -> None:
        p = self.plausibility
        if p is None or p.enrolment_element not in self.elements:
            return
        el = self.elements[p.enrolment_element]
        if p.grade_category not in el.dims:
            return
        gpos = el.dims.index(p.grade_category)
        now: dict[str, int] = {}
        for key, v in cells.get(p.enrolment_element, {}).items():
            now[key[gpos]] = now.get(key[gpos], 0) + v
        pupils = sum(now.values())
        teachers_cells = cells.get(p.teachers_element)
        if teachers_cells and pupils >= p.min_pupils:
            teachers = sum(teachers_cells.values())
            lo, hi = p.ptr_range
            if teachers > 0:
                ratio = pupils / teachers
                if ratio > hi or ratio < lo:
                    code = "PTR_HIGH" if ratio > hi else "PTR_LOW"
                    result.warnings.append(
                        Finding(
                            code,
                            f"values.{p.teachers_element}",
                            message(
                                code,
                                lang,
                                ratio=f"{ratio:.1f}",
                                limit=_fmt(hi if ratio > hi else lo),
                            ),
                            "warning",
                        )
                    )
        if not previous or not isinstance(previous, dict):
            return
        before = _grade_totals(previous.get(p.enrolment_element), p.grade_category)
        ename = p.enrolment_element
        for grade in self.definition.categories[p.grade_category].options:
            if grade in now and grade in before and before[grade] >= p.min_pupils:
                share = (now[grade] - before[grade]) / before[grade]
                if abs(share) > p.max_change_share:
                    result.warnings.append(
                        Finding(
                            "ENROL_CHANGE",
                            f"values.{ename}[grade={grade}]",
                            message(
                                "ENROL_CHANGE",
                                lang,
                                grade=grade,
                                share=f"{share * 100:+.0f}",
                                before=before[grade],
                                now=now[grade],
                            ),
                            "warning",
                        )
                    )
        for seq in p.cohort_sequences:
            for prev_grade, grade in itertools.pairwise(seq):
                if (
                    grade in now
                    and prev_grade in before
                    and now[grade] >= p.min_pupils
                    and now[grade] > p.cohort_factor * before[prev_grade]
                ):
                    result.warnings.append(
                        Finding(
                            "COHORT_JUMP",
                            f"values.{ename}[grade={grade}]",
                            message(
                                "COHORT_JUMP",
                                lang,
                                grade=grade,
                                now=now[grade],
                                previous_grade=prev_grade,
                                before=before[prev_grade],
                            ),
                            "warning",
                        )
                    )

    # ------------------------------------------------------------ entry point

    def check(
        self, values: Any, previous: dict[str, Any] | None = None, lang: str = "en"
    ) -> CheckResult:
        """Check one return's values (and, for plausibility, last year's values of the school)."""
        result = CheckResult()
        cells = self._structure(values, lang, result.structure_errors)
        if result.structure_errors:
            return result
        for el in self.elements.values():
            if el.required and el.code not in cells:
                result.rule_errors.append(
                    Finding(
                        "REQUIRED_MISSING",
                        f"values.{el.code}",
                        message("REQUIRED_MISSING", lang, element=el.code),
                        "error",
                    )
                )
        numeric = {
            k: ({ck: int(v) for ck, v in c.items()} if self.elements[k].type == "boolean" else c)
            for k, c in cells.items()
            if self.elements[k].type in ("count", "boolean")
        }
        numeric.update(
            {
                k: {ck: 1 for ck in c}
                for k, c in cells.items()
                if self.elements[k].type not in ("count", "boolean")
            }
        )
        self._rules(numeric, lang, result)
        self._plausibility(numeric, previous, lang, result)
        return result


_CMP: dict[str, Callable[[float, float], bool]] = {
    "==": lambda a, b: abs(a - b) <= 1e-9,
    "!=": lambda a, b: abs(a - b) > 1e-9,
    "<": lambda a, b: a < b - 1e-9,
    "<=": lambda a, b: a <= b + 1e-9,
    ">": lambda a, b: a > b + 1e-9,
    ">=": lambda a, b: a >= b - 1e-9,
}


def _make_test(rp: _RulePlan) -> Callable[[list[Any], str], str | None]:
    """One closure per rule: None when the rule holds (or is skipped), else the detail text."""
    rule = rp.rule
    when = rp.when
    left_fn, right_fn = rp.left, rp.right
    left_idx, right_idx, side_idx = rp.left_idx, rp.right_idx, rp.side_idx

    def when_holds(vals: list[Any]) -> bool:
        if when is None:
            return True
        wleft, wop, wright, widx = when
        for i in widx:
            if vals[i] is None:
                return False
        wl, wr = wleft(vals), wright(vals)
        return wl is not None and wr is not None and _CMP[wop](wl, wr)

    if rule.op in PAIR_OPS:
        # Presence only: a cell sent with 0 is present; `missing` does not apply (see definition).
        fails: Callable[[bool, bool], bool] = {
            "both_or_neither": lambda lp, rp: lp != rp,
            "left_requires_right": lambda lp, rp: lp and not rp,
            "exclusive_pair": lambda lp, rp: lp and rp,
        }[rule.op]
        exclusive = rule.op == "exclusive_pair"

        def present(vals: list[Any], idx: tuple[int, ...]) -> bool:
            # A plain loop: any() over a generator costs a generator object per call.
            for i in idx:  # noqa: SIM110
                if vals[i] is not None:
                    return True
            return False

        def pair(vals: list[Any], lang: str) -> str | None:
            if not when_holds(vals):
                return None
            lp = present(vals, left_idx)
            rpres = present(vals, right_idx)
            if not fails(lp, rpres):
                return None
            if exclusive:
                return message("BOTH_PRESENT", lang, left=rule.left, right=rule.right)
            yes, no = ("rempli", "absent") if lang == "fr" else ("present", "missing")
            return f"{rule.left}: {yes if lp else no}, {rule.right}: {yes if rpres else no}"

        return pair
    cmp, failed_op = _CMP[rule.op], _FAILED[rule.op]
    strategy = rule.missing

    def compare(vals: list[Any], lang: str) -> str | None:
        if when is not None and not when_holds(vals):
            return None
        missing = 0
        for i in side_idx:
            if vals[i] is None:
                missing += 1
        if missing:
            if strategy == "skip_if_any_missing" or (
                strategy == "skip_if_all_missing" and missing == len(side_idx)
            ):
                return None
            vals = [0 if v is None else v for v in vals]
        a, b = left_fn(vals), right_fn(vals)
        if a is None or b is None or cmp(a, b):
            return None
        return f"{_fmt(a)} {failed_op} {_fmt(b)}"

    return compare


def _compile(node: Node, index: dict[Ref, int]) -> Fn:
    """Turn an expression tree into nested closures over the rule's values (no eval)."""
    if isinstance(node, Num):
        const = node.value
        return lambda vals: const
    if isinstance(node, Ref):
        i = index[node]
        return lambda vals: vals[i]
    if isinstance(node, Neg):
        inner = _compile(node.operand, index)

        def neg(vals: list[Any]) -> float | None:
            v = inner(vals)
            return None if v is None else -v

        return neg
    assert isinstance(node, BinOp)
    a, b, op = _compile(node.left, index), _compile(node.right, index), node.op

    def binop(vals: list[Any]) -> float | None:
        x, y = a(vals), b(vals)
        if x is None or y is None:
            return None
        if op == "+":
            return x + y
        if op == "-":
            return x - y
        if op == "*":
            return x * y
        return None if y == 0 else x / y

    return binop


def _key_getter(pos: tuple[int, ...]) -> Callable[[tuple[str, ...]], tuple[str, ...]]:
    """The part of a cell key a rule groups by, as a tuple (itemgetter does it in C)."""
    if not pos:
        return lambda key: ()
    if len(pos) == 1:
        (p,) = pos
        return lambda key: (key[p],)
    return itemgetter(*pos)


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


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}"


def _grade_totals(cells: Any, grade_dim: str) -> dict[str, int]:
    out: dict[str, int] = {}
    if not isinstance(cells, list):
        return out
    for c in cells:
        if isinstance(c, dict) and type(c.get("value")) is int and grade_dim in c:
            g = str(c[grade_dim])
            out[g] = out.get(g, 0) + c["value"]
    return out


def _is_date(v: str) -> bool:
    try:
        date.fromisoformat(v)
    except ValueError:
        return False
    return len(v) == 10


def compile_form(defn: FormDefinition) -> CompiledForm:
    """Prepare a checked definition for fast, repeated checking."""
    return CompiledForm(defn)


__all__ = ["CheckResult", "CompiledForm", "Finding", "compile_form"]
