"""Form rules, DHIS2-style: `left op right` for each combination of the `for_each` dimensions,
each side arithmetic over element codes summed over the other dimensions; and presence pairs.

A failed rule's finding keeps its data, not its text (see `RuleChecks.finding`): the rule's own
message as the definition gives it, the figures and the combination, rendered by a `RULE_*`
frame of the reader's catalogue."""

from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from app.forms.checking.definition import PAIR_OPS, FormDefinition, Rule
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
from app.forms.checking.findings import CheckResult, Finding
from app.forms.checking.structure import Cells, Element

_FAILED = {"==": "≠", "!=": "=", "<": "≥", "<=": ">", ">": "≤", ">=": "<"}
Fn = Callable[[list[Any]], float | None]
Spec = tuple[str, tuple[int, ...], tuple[tuple[int, frozenset[str]], ...]]
# A rule's test: None when it holds (or is skipped), else the params saying how it failed.
Test = Callable[[list[Any]], dict[str, Any] | None]
RULE_TEMPLATES = ("RULE_COMPARE", "RULE_PAIR", "RULE_EXCLUSIVE", "IN_COMBINATION")


@dataclass(frozen=True)
class RulePlan:
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
    test: Test = lambda vals: None


class RuleChecks:
    """The rules of one form, planned once; `check` runs them all over a return's cells."""

    def __init__(self, defn: FormDefinition, elements: dict[str, Element]) -> None:
        self.elements = elements
        self._specs: list[Spec] = []
        self.plans = [self._plan(r) for r in defn.rules]
        self._sources = [self._source(i) for i in range(len(self._specs))]

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

    def _plan(self, rule: Rule) -> RulePlan:
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
        plan = RulePlan(
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

    def check(self, cells: Cells, lang: str, result: CheckResult) -> None:
        """Run every rule over the (numeric) cells; failures go to rule errors or warnings."""
        cache: list[Any] = [None] * len(self._specs)
        # Rules over the same aggregates (repeaters vs enrolment by grade and sex, …) share one
        # table of values per combination.
        tables: dict[tuple[int, ...], list[tuple[tuple[str, ...], list[Any]]]] = {}
        for rp in self.plans:
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
                detail = test(vals)
                if detail is not None:
                    finding = self.finding(rp, combo, detail, lang)
                    (result.rule_errors if finding.severity == "error" else result.warnings).append(
                        finding
                    )

    @staticmethod
    def finding(rp: RulePlan, combo: tuple[str, ...], detail: dict[str, Any], lang: str) -> Finding:
        """A failed rule as data. Its params carry the rule's own message as the definition
        gives it (one text, or one per language: shown in the reader's language, else English,
        as `text_in` picks), so a stored finding renders in any catalogue's language without
        its form definition; `template` names the catalogue frame around it (`RULE_COMPARE`:
        the figures and the failed operator; `RULE_PAIR`: which side was sent;
        `RULE_EXCLUSIVE`), and `where` the combination it failed for."""
        rule = rp.rule
        message = rule.message
        params: dict[str, Any] = {"rule": dict(message) if isinstance(message, dict) else message}
        params.update(detail)
        path = f"values.{rp.path_element}"
        if combo:
            named = [f"{d}={v}" for d, v in zip(rule.for_each, combo, strict=True)]
            path += "[" + ",".join(named) + "]"
            params["where"] = ", ".join(named)
        return Finding(rule.code, path, rule.severity, params, lang)


_CMP: dict[str, Callable[[float, float], bool]] = {
    "==": lambda a, b: abs(a - b) <= 1e-9,
    "!=": lambda a, b: abs(a - b) > 1e-9,
    "<": lambda a, b: a < b - 1e-9,
    "<=": lambda a, b: a <= b + 1e-9,
    ">": lambda a, b: a > b + 1e-9,
    ">=": lambda a, b: a >= b - 1e-9,
}


def _make_test(rp: RulePlan) -> Test:
    """One closure per rule: None when the rule holds (or is skipped), else how it failed."""
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

        def pair(vals: list[Any]) -> dict[str, Any] | None:
            if not when_holds(vals):
                return None
            lp = present(vals, left_idx)
            rpres = present(vals, right_idx)
            if not fails(lp, rpres):
                return None
            if exclusive:
                return {"template": "RULE_EXCLUSIVE", "left": rule.left, "right": rule.right}
            return {
                "template": "RULE_PAIR",
                "left": rule.left,
                "right": rule.right,
                "left_state": "present" if lp else "missing",
                "right_state": "present" if rpres else "missing",
            }

        return pair
    cmp, failed_op = _CMP[rule.op], _FAILED[rule.op]
    strategy = rule.missing

    def compare(vals: list[Any]) -> dict[str, Any] | None:
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
        return {"template": "RULE_COMPARE", "left": fmt(a), "op": failed_op, "right": fmt(b)}

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


def fmt(x: float) -> str:
    """A figure as a finding shows it: whole numbers without decimals, others with two."""
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}"


__all__ = ["RULE_TEMPLATES", "RuleChecks", "RulePlan", "fmt"]
