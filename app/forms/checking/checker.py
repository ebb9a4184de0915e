"""The check engine: structure, rules and plausibility, identical in the server and the client.

Paths name the offending cell: `values.enrolment[3]` is the fourth cell sent for enrolment;
`values.repeaters[grade=P1,sex=F]` is the combination a rule failed for; `values.seats` a plain
value. Missing (no cell) is never the same as 0."""

import itertools
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from app.forms.checking.definition import (
    PAIR_OPS,
    DataElement,
    FormDefinition,
    Rule,
    text_in,
)
from app.forms.checking.expr import (
    BinOp,
    Condition,
    Neg,
    Node,
    Num,
    Ref,
    parse_condition,
    parse_expr,
    refs,
)
from app.forms.checking.messages import EXPECTED, message

_FAILED = {"==": "≠", "!=": "=", "<": "≥", "<=": ">", ">": "≤", ">=": "<"}


@dataclass(frozen=True)
class Finding:
    """One thing the checks found: a stable code, the cell's path, a message, a severity."""

    code: str
    path: str
    message: str
    severity: str

    def as_dict(self) -> dict[str, str]:
        return {
            "code": self.code,
            "path": self.path,
            "message": self.message,
            "severity": self.severity,
        }


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
    type: str
    choices: frozenset[str]
    required: bool
    label: Any


@dataclass(frozen=True)
class _RefPlan:
    element: str
    for_each_pos: tuple[int, ...]
    filters: tuple[tuple[int, frozenset[str]], ...]


@dataclass(frozen=True)
class _RulePlan:
    rule: Rule
    left: Node
    right: Node
    when: Condition | None
    plans: dict[Ref, _RefPlan]
    left_refs: tuple[Ref, ...]
    right_refs: tuple[Ref, ...]
    path_element: str


Cells = dict[str, dict[tuple[str, ...], Any]]


class CompiledForm:
    """A definition prepared for fast checking; build once with compile_form, reuse."""

    def __init__(self, defn: FormDefinition) -> None:
        self.definition = defn
        cats = defn.categories
        self.elements: dict[str, _Element] = {
            e.code: _Element(
                e.code,
                tuple(e.dimensions),
                tuple(frozenset(cats[d].options) for d in e.dimensions),
                e.type,
                frozenset(e.choices or ()),
                e.required,
                e.label,
            )
            for e in defn.elements
        }
        self.rules = [self._plan(r) for r in defn.rules]
        self.plausibility = defn.plausibility

    def _plan(self, rule: Rule) -> _RulePlan:
        left, right = parse_expr(rule.left), parse_expr(rule.right)
        when = parse_condition(rule.when) if rule.when else None
        all_refs = refs(left) + refs(right) + (refs(when) if when else [])
        plans = {}
        for ref in all_refs:
            el = self.elements[ref.element]
            plans[ref] = _RefPlan(
                ref.element,
                tuple(el.dims.index(d) for d in rule.for_each),
                tuple((el.dims.index(d), opts) for d, opts in ref.filters),
            )
        return _RulePlan(
            rule,
            left,
            right,
            when,
            plans,
            tuple(refs(left)),
            tuple(refs(right)),
            refs(left)[0].element if refs(left) else "",
        )

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
            store: dict[tuple[str, ...], Any] = {}
            width = len(el.dims) + 1
            for i, cell in enumerate(raw):
                cpath = f"{path}[{i}]"
                if not isinstance(cell, dict):
                    out.append(
                        Finding(
                            "NOT_A_CELL",
                            cpath,
                            message("NOT_A_CELL", lang, element=code, dims=", ".join(el.dims)),
                            "error",
                        )
                    )
                    continue
                key = self._cell_key(el, cell, cpath, lang, out)
                if len(cell) != width:
                    for extra in cell.keys() - set(el.dims) - {"value"}:
                        out.append(
                            Finding(
                                "UNKNOWN_DIMENSION",
                                f"{cpath}.{extra}",
                                message("UNKNOWN_DIMENSION", lang, element=code, dim=extra),
                                "error",
                            )
                        )
                if "value" not in cell:
                    out.append(
                        Finding(
                            "MISSING_VALUE",
                            cpath,
                            message("MISSING_VALUE", lang, element=code),
                            "error",
                        )
                    )
                    continue
                if (
                    not self._value_ok(el, cell["value"], f"{cpath}.value", lang, out)
                    or key is None
                ):
                    continue
                if key in store:
                    out.append(
                        Finding(
                            "DUPLICATE_CELL",
                            cpath,
                            message(
                                "DUPLICATE_CELL",
                                lang,
                                element=code,
                                key=", ".join(
                                    f"{d}={k}" for d, k in zip(el.dims, key, strict=True)
                                ),
                            ),
                            "error",
                        )
                    )
                    continue
                store[key] = cell["value"]
            cells[code] = store
        return cells

    def _cell_key(
        self, el: _Element, cell: dict[str, Any], path: str, lang: str, out: list[Finding]
    ) -> tuple[str, ...] | None:
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
            if s is None or s not in options:
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
                if v >= 0:
                    return True
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
        self, plan: _RefPlan, cells: Cells, cache: dict[Any, dict[tuple[str, ...], float]]
    ) -> dict[tuple[str, ...], float]:
        key = (plan.element, plan.for_each_pos, plan.filters)
        got = cache.get(key)
        if got is not None:
            return got
        agg: dict[tuple[str, ...], float] = {}
        data = cells.get(plan.element)
        if data:
            pos, filters = plan.for_each_pos, plan.filters
            for cell_key, value in data.items():
                if filters and not all(cell_key[i] in opts for i, opts in filters):
                    continue
                combo = tuple(cell_key[i] for i in pos)
                agg[combo] = agg.get(combo, 0) + value
        cache[key] = agg
        return agg

    def _rules(self, cells: Cells, lang: str, result: CheckResult) -> None:
        cache: dict[Any, dict[tuple[str, ...], float]] = {}
        for rp in self.rules:
            rule = rp.rule
            aggs = {ref: self._aggregate(plan, cells, cache) for ref, plan in rp.plans.items()}
            if rule.for_each:
                combos: set[tuple[str, ...]] = set()
                for agg in aggs.values():
                    combos.update(agg)
                ordered = sorted(combos)
            else:
                ordered = [()]
            for combo in ordered:
                finding = self._evaluate(rp, aggs, combo, lang)
                if finding is not None:
                    (result.rule_errors if rule.severity == "error" else result.warnings).append(
                        finding
                    )

    def _evaluate(
        self,
        rp: _RulePlan,
        aggs: dict[Ref, dict[tuple[str, ...], float]],
        combo: tuple[str, ...],
        lang: str,
    ) -> Finding | None:
        rule = rp.rule
        env = {ref: agg.get(combo) for ref, agg in aggs.items()}
        if rp.when is not None:
            wl, wr = _ev(rp.when.left, env, False), _ev(rp.when.right, env, False)
            if wl is None or wr is None or not _compare(wl, rp.when.op, wr):
                return None
        if rule.op in PAIR_OPS:
            lp = any(env[r] is not None for r in rp.left_refs)
            rpres = any(env[r] is not None for r in rp.right_refs)
            failed = (lp != rpres) if rule.op == "both_or_neither" else (lp and not rpres)
            if not failed:
                return None
            detail = f"{rule.left}: {'present' if lp else 'missing'}, {rule.right}: {'present' if rpres else 'missing'}"
            if lang == "fr":
                detail = detail.replace("present", "rempli").replace("missing", "absent")
            return self._finding(rp, combo, detail, lang)
        side_refs = rp.left_refs + rp.right_refs
        present = [env[r] is not None for r in side_refs]
        if rule.missing == "skip_if_any_missing" and not all(present):
            return None
        if rule.missing == "skip_if_all_missing" and not any(present):
            return None
        left, right = _ev(rp.left, env, True), _ev(rp.right, env, True)
        if left is None or right is None or _compare(left, rule.op, right):
            return None
        return self._finding(rp, combo, f"{_fmt(left)} {_FAILED[rule.op]} {_fmt(right)}", lang)

    def _finding(self, rp: _RulePlan, combo: tuple[str, ...], detail: str, lang: str) -> Finding:
        rule = rp.rule
        where = ",".join(f"{d}={v}" for d, v in zip(rule.for_each, combo, strict=True))
        path = f"values.{rp.path_element}" + (f"[{where}]" if where else "")
        text = (
            text_in(rule.message, lang)
            + f": {detail}"
            + (f" ({where.replace(',', ', ')})" if where else "")
        )
        return Finding(rule.code, path, text, rule.severity)

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


def _ev(node: Node, env: dict[Ref, float | None], missing_as_zero: bool) -> float | None:
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Ref):
        v = env[node]
        return (0 if missing_as_zero else None) if v is None else v
    if isinstance(node, Neg):
        v = _ev(node.operand, env, missing_as_zero)
        return None if v is None else -v
    assert isinstance(node, BinOp)
    a, b = _ev(node.left, env, missing_as_zero), _ev(node.right, env, missing_as_zero)
    if a is None or b is None:
        return None
    if node.op == "+":
        return a + b
    if node.op == "-":
        return a - b
    if node.op == "*":
        return a * b
    return None if b == 0 else a / b


def _compare(a: float, op: str, b: float) -> bool:
    eps = 1e-9
    if op == "==":
        return abs(a - b) <= eps
    if op == "!=":
        return abs(a - b) > eps
    if op == "<":
        return a < b - eps
    if op == "<=":
        return a <= b + eps
    if op == ">":
        return a > b + eps
    return a >= b - eps


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


__all__ = ["CheckResult", "CompiledForm", "DataElement", "Finding", "compile_form"]
