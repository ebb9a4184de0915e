"""Pathological rule expressions are refused with a message, never a RecursionError."""

import pytest
import yaml

from app.forms.checking import DefinitionError, load_definition_file, parse_definition
from app.forms.checking.expr import (
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_TOKENS,
    ExprError,
    ExprTooComplex,
    parse_condition,
    parse_expr,
)
from tests.forms.helpers import cells, definition_with, form_with

DEEP_BRACKETS = "(" * 3000 + "a" + ")" * 3000
DEEP_MINUS = "-" * 3000 + "a"
HUGE_SUM = "+".join(["a"] * 5000)  # 9,999 characters: under MAX_LENGTH, over MAX_TOKENS


def nested(depth: int) -> str:
    """`a` inside `depth` brackets."""
    return "(" * depth + "a" + ")" * depth


def chain(terms: int) -> str:
    """`a + a + …` with `terms` terms (2 * terms - 1 tokens)."""
    return " + ".join(["a"] * terms)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (DEEP_BRACKETS, "expression too deeply nested"),
        (DEEP_MINUS, "expression too deeply nested"),
        (HUGE_SUM, "expression too long"),
        ("a" * (MAX_LENGTH + 1), "expression too long"),
    ],
    ids=["3000-brackets", "3000-minus-signs", "5000-term-sum", "very-long-name"],
)
def test_parser_refuses_with_its_own_error(text, expected):
    """The parser reports an over-complex expression as such, with its limit."""
    with pytest.raises(ExprTooComplex, match=expected) as err:
        parse_expr(text)
    assert isinstance(err.value, ExprError)
    with pytest.raises(ExprTooComplex, match=expected):
        parse_condition(f"{text} > 0")


@pytest.mark.parametrize(
    ("side", "text", "expected"),
    [
        ("left", DEEP_BRACKETS, "rule R: expression too deeply nested (more than"),
        ("right", DEEP_MINUS, "rule R: expression too deeply nested (more than"),
        ("left", HUGE_SUM, "rule R: expression too long (9,999 terms and operators"),
        ("when", DEEP_BRACKETS + " > 0", "rule R: expression too deeply nested (more than"),
    ],
    ids=["brackets-left", "minus-right", "sum-left", "brackets-in-when"],
)
def test_loading_names_the_rule_and_the_limit(side, text, expected):
    """Loading a definition with such a rule reports 'rule R: expression too …', nothing else."""
    rule = {"left": "a", "op": "<=", "right": "b", side: text}
    with pytest.raises(DefinitionError) as err:
        parse_definition(definition_with(**rule))
    (problem,) = err.value.problems
    assert problem.startswith(expected), problem


def test_loading_a_file_with_a_deep_rule_reports_it(tmp_path):
    """A YAML definition file with a 3,000-bracket rule is refused with the rule named."""
    f = tmp_path / "deep.yaml"
    f.write_text(yaml.safe_dump(definition_with(left=DEEP_BRACKETS, op="<=", right="b")))
    with pytest.raises(DefinitionError, match="rule R: expression too deeply nested"):
        load_definition_file(f)


def test_expressions_at_the_limits_still_work():
    """The deepest and longest allowed expressions load and give the right verdict."""
    deep = form_with(left=nested(MAX_DEPTH), op="<=", right="b", for_each=["sex"])
    assert deep.check(cells(a=4, b=3)).rule_errors[0].message == "failed: 4 > 3 (sex=F)"
    terms = (MAX_TOKENS + 1) // 2
    long = form_with(left=chain(terms), op="<=", right="b", for_each=["sex"])
    got = long.check(cells(a=1, b=terms - 1)).rule_errors[0].message
    assert got == f"failed: {terms} > {terms - 1} (sex=F)"


def test_one_past_the_limits_is_refused():
    """One bracket or two tokens more than allowed is refused."""
    with pytest.raises(ExprTooComplex, match="deeply nested"):
        parse_expr(nested(MAX_DEPTH + 1))
    with pytest.raises(ExprTooComplex, match="too long"):
        parse_expr(chain((MAX_TOKENS + 1) // 2 + 1))
