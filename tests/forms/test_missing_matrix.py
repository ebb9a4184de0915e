"""Missing is not 0: every comparison under every missing-value strategy, and the presence pairs.

The expected verdicts come from the strategies as the form documents them (DHIS2's), written out
here independently of the engine:
- skip_if_any_missing: a combination with any side missing is not checked;
- skip_if_all_missing: missing counts as 0, unless every side is missing (then not checked);
- never_skip: missing counts as 0, always checked.
A cell sent with 0 is never missing."""

import operator
from collections.abc import Callable

import pytest

from app.forms.checking import DefinitionError, FormDefinition, compile_form, parse_definition
from app.forms.checking.definition import MISSING_STRATEGIES, PAIR_OPS
from tests.forms.helpers import cells, codes, definition_with, form_with

OPS: dict[str, Callable[[int, int], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}

# (a, b) as sent for sex F; None = no cell sent. Non-zero values next to a missing side, so that
# reading missing as 0 changes the verdict for some operator under every skip strategy.
CASES: dict[str, tuple[int | None, int | None]] = {
    "a=3,b-missing": (3, None),
    "a-missing,b=3": (None, 3),
    "a=0,b-missing": (0, None),
    "a-missing,b=0": (None, 0),
    "a=3,b=0": (3, 0),
    "a=0,b=3": (0, 3),
    "a=3,b=3": (3, 3),
    "a=0,b=0": (0, 0),
    "both-missing": (None, None),
}


def expected_finding(op: str, strategy: str, a: int | None, b: int | None, grouped: bool) -> bool:
    """Whether rule `a op b` reports a finding, per the documented strategy."""
    missing = [a, b].count(None)
    if missing == 2 and grouped:
        return False  # for_each: no cell sent for sex F, so there is no F combination to check
    if missing == 2 and strategy != "never_skip":
        return False
    if missing == 1 and strategy == "skip_if_any_missing":
        return False
    return not OPS[op](a or 0, b or 0)


@pytest.mark.parametrize("for_each", [[], ["sex"]], ids=["whole-school", "for-each-sex"])
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("strategy", MISSING_STRATEGIES)
@pytest.mark.parametrize("op", list(OPS))
def test_comparison_under_strategy(op, strategy, case, for_each):
    """Rule `a op b` fires exactly when its missing-value strategy says it should."""
    a, b = CASES[case]
    form = form_with(left="a", op=op, right="b", missing=strategy, for_each=for_each)
    fired = codes(form, cells(a=a, b=b)) == ["R"]
    assert fired is expected_finding(op, strategy, a, b, grouped=bool(for_each))


@pytest.mark.parametrize("strategy", ["skip_if_any_missing"])
@pytest.mark.parametrize("op", list(OPS))
def test_the_matrix_can_tell_missing_from_zero(op, strategy):
    """For every operator some case gives another verdict if a missing side were read as 0."""
    differs = [
        name
        for name, (a, b) in CASES.items()
        if None in (a, b)
        and expected_finding(op, strategy, a, b, grouped=False)
        != expected_finding(op, "never_skip", a or 0, b or 0, grouped=False)
    ]
    assert differs, f"no case in CASES distinguishes missing from 0 for {op}"


# Sides chosen so that 0 for every missing side FAILS the rule: when nothing is sent, only
# never_skip may report it.
ZERO_FAILS = {
    "==": ("a", "b + 1"),
    "!=": ("a", "b"),
    "<": ("a", "b"),
    "<=": ("a + 1", "b"),
    ">": ("a", "b"),
    ">=": ("a", "b + 1"),
}


@pytest.mark.parametrize("strategy", MISSING_STRATEGIES)
@pytest.mark.parametrize("op", list(OPS))
def test_nothing_sent_is_not_all_zeros(op, strategy):
    """A return that leaves both sides out is only checked (as zeros) under never_skip."""
    left, right = ZERO_FAILS[op]
    form = form_with(left=left, op=op, right=right, missing=strategy)
    assert (codes(form, {}) == ["R"]) is (strategy == "never_skip")
    assert codes(form, cells(a=0, b=0)) == ["R"]  # zeros that were sent are always checked


# Presence pairs: fires for (only a sent, only b sent, both sent, neither sent).
PAIRS = {
    "both_or_neither": (True, True, False, False),
    "left_requires_right": (True, False, False, False),
    "exclusive_pair": (False, False, True, False),
}
PRESENCE = {
    "only-a": ("a",),
    "only-b": ("b",),
    "both": ("a", "b"),
    "neither": (),
}


def test_every_pair_operator_is_covered():
    """The pair table below covers every pair operator the engine knows."""
    assert set(PAIRS) == set(PAIR_OPS)


@pytest.mark.parametrize("value", [0, 3], ids=["cells-hold-0", "cells-hold-3"])
@pytest.mark.parametrize("explicit", [False, True], ids=["default", "explicit-default"])
@pytest.mark.parametrize("op", list(PAIRS))
def test_pair_under_default_strategy(op, explicit, value):
    """A pair rule judges only whether cells were sent (0 counts as sent)."""
    extra = {"missing": "skip_if_any_missing"} if explicit else {}
    form = form_with(left="a", op=op, right="b", for_each=["sex"], **extra)
    fired = tuple(
        codes(form, cells(**{el: value for el in sent})) == ["R"] for sent in PRESENCE.values()
    )
    assert fired == PAIRS[op]


@pytest.mark.parametrize("strategy", ["skip_if_all_missing", "never_skip"])
@pytest.mark.parametrize("op", list(PAIRS))
def test_pair_refuses_another_strategy(op, strategy):
    """Loading a pair rule with a missing-value strategy is refused, naming the rule."""
    with pytest.raises(DefinitionError) as err:
        parse_definition(definition_with(left="a", op=op, right="b", missing=strategy))
    assert err.value.problems == [
        f"rule R: 'missing: {strategy}' does not apply to {op}, which checks only whether "
        "cells were sent; remove 'missing' from this rule"
    ]


@pytest.mark.parametrize("strategy", MISSING_STRATEGIES)
@pytest.mark.parametrize("op", list(PAIRS))
def test_pair_ignores_the_strategy_in_the_engine(op, strategy):
    """Even built without the loader's check, a pair rule's verdict does not depend on `missing`."""
    defn = FormDefinition.model_validate(
        definition_with(left="a", op=op, right="b", missing=strategy)
    )
    form = compile_form(defn)
    fired = tuple(
        codes(form, cells(**{el: 3 for el in sent})) == ["R"] for sent in PRESENCE.values()
    )
    assert fired == PAIRS[op]
