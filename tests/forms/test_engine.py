"""The check engine: rules, presence pairs, types, paths, languages and broken definitions.

Missing versus 0 under every operator and strategy is in test_missing_matrix.py."""

import copy

import pytest

from app.forms.checking import DefinitionError, compile_form, parse_definition
from tests.forms.helpers import BASE, codes, definition_with, form_with

A0 = {"a": [{"sex": "F", "value": 0}]}  # a present and 0, b missing
B0 = {"b": [{"sex": "F", "value": 0}]}  # b present and 0, a missing
BOTH0 = {**A0, **B0}
NONE: dict = {}


def test_missing_versus_zero_with_a_constant():
    """`a > 0` says nothing when a is not sent, and fails when a is sent as 0."""
    form = form_with(left="a", op=">", right="0", missing="skip_if_any_missing")
    assert codes(form, NONE) == []  # nothing sent: nothing to say
    assert codes(form, A0) == ["R"]  # 0 sent: 0 > 0 fails


@pytest.mark.parametrize(
    ("op", "a", "b", "fires"),
    [
        ("both_or_neither", True, False, True),
        ("both_or_neither", False, True, True),
        ("both_or_neither", True, True, False),
        ("both_or_neither", False, False, False),
        ("left_requires_right", True, False, True),
        ("left_requires_right", False, True, False),
        ("left_requires_right", True, True, False),
        ("left_requires_right", False, False, False),
        ("exclusive_pair", True, False, False),
        ("exclusive_pair", False, True, False),
        ("exclusive_pair", True, True, True),
        ("exclusive_pair", False, False, False),
    ],
)
def test_presence_pairs_count_zero_as_present(op, a, b, fires):
    """A pair rule sees a cell holding 0 as filled in."""
    form = form_with(left="a", op=op, right="b", for_each=["sex"])
    values = {**(A0 if a else {}), **(B0 if b else {})}  # present cells hold 0
    assert bool(codes(form, values)) is fires


def test_exclusive_pair_names_both_sides_in_english_and_french():
    """When both sides of an exclusive pair are filled in, the clerk is told which, in en and fr."""
    form = form_with(left="a", op="exclusive_pair", right="b", for_each=["sex"])
    values = {"a": [{"sex": "F", "value": 2}], "b": [{"sex": "F", "value": 0}]}
    (en,) = form.check(values, lang="en").rule_errors
    (fr,) = form.check(values, lang="fr").rule_errors
    assert (en.code, en.path, en.severity) == ("R", "values.a[sex=F]", "error")
    assert en.message == "failed: both a and b are filled in; only one of them may be (sex=F)"
    assert fr.message == (
        "échec: a et b sont tous deux remplis ; un seul des deux peut l'être (sex=F)"
    )


def test_exclusive_pair_takes_any_element_type_and_a_when_clause():
    """An exclusive pair works on a date and a yes/no answer, and only where `when` holds."""
    form = form_with(
        left="when_date", op="exclusive_pair", right="flag", when="a > 0", severity="warning"
    )
    both = {"when_date": "2025-06-30", "flag": False, "a": [{"sex": "F", "value": 1}]}
    assert codes(form, both) == ["R"]
    assert form.check(both).status == "ok"  # a warning does not block
    assert codes(form, {**both, "a": [{"sex": "F", "value": 0}]}) == []
    assert codes(form, {"when_date": "2025-06-30", "a": [{"sex": "F", "value": 1}]}) == []


def test_exclusive_pair_round_trips_as_a_stored_definition():
    """A definition using exclusive_pair survives being stored and read back."""
    defn = parse_definition(definition_with(left="a", op="exclusive_pair", right="b"))
    assert parse_definition(defn.model_dump(mode="json")) == defn


def test_for_each_names_the_combination_in_the_path():
    form = form_with(left="a", op="<=", right="b", for_each=["sex"])
    r = form.check(
        {
            "a": [{"sex": "F", "value": 5}, {"sex": "M", "value": 1}],
            "b": [{"sex": "F", "value": 2}, {"sex": "M", "value": 1}],
        }
    )
    assert [(f.code, f.path) for f in r.rule_errors] == [("R", "values.a[sex=F]")]
    assert "5 > 2" in r.rule_errors[0].message


def test_sides_sum_over_dimensions_not_in_for_each_and_filters_select_options():
    form = form_with(left="pupils[grade=G1]", op="<=", right="a", for_each=["sex"])
    values = {
        "pupils": [
            {"grade": "G1", "sex": "F", "value": 3},
            {"grade": "G2", "sex": "F", "value": 50},
        ],
        "a": [{"sex": "F", "value": 3}],
    }
    assert codes(form, values) == []
    values["pupils"][0]["value"] = 4
    assert codes(form, values) == ["R"]


def test_when_clause_limits_the_rule():
    form = form_with(left="a", op=">", right="0", when="b > 0", missing="never_skip")
    assert codes(form, {"b": [{"sex": "F", "value": 3}]}) == ["R"]
    assert codes(form, {"b": [{"sex": "F", "value": 0}]}) == []
    assert codes(form, NONE) == []


def test_division_by_zero_skips_instead_of_failing():
    form = form_with(left="a / b", op="<", right="2")
    assert codes(form, {"a": [{"sex": "F", "value": 3}], "b": [{"sex": "F", "value": 0}]}) == []


def test_bool_is_not_a_count_and_a_count_is_not_a_bool():
    form = form_with(left="a", op=">=", right="0")
    r = form.check({"a": [{"sex": "F", "value": True}], "flag": 1})
    assert [(f.code, f.path) for f in r.structure_errors] == [
        ("WRONG_TYPE", "values.a[0].value"),
        ("WRONG_TYPE", "values.flag"),
    ]


def test_booleans_count_as_one_and_zero_in_rules():
    form = form_with(left="flag", op="<=", right="a")
    assert codes(form, {"flag": True, "a": [{"sex": "F", "value": 0}]}) == ["R"]
    assert codes(form, {"flag": False, "a": [{"sex": "F", "value": 0}]}) == []


def test_structure_paths_point_at_the_cell():
    form = form_with(left="a", op=">=", right="0")
    r = form.check(
        {
            "a": [{"sex": "F", "value": 1}, {"sex": "X", "value": 1}, {"sex": "F", "value": 2}],
            "zzz": 1,
            "when_date": "2025-13-01",
        }
    )
    got = [(f.code, f.path) for f in r.structure_errors]
    assert got == [
        ("UNKNOWN_OPTION", "values.a[1].sex"),
        ("DUPLICATE_CELL", "values.a[2]"),
        ("UNKNOWN_ELEMENT", "values.zzz"),
        ("WRONG_TYPE", "values.when_date"),
    ]
    assert r.status == "rejected"


def test_ints_and_strings_name_the_same_option():
    d = copy.deepcopy(BASE)
    d["categories"]["age"] = {"label": "Age", "options": [6, 7]}
    d["elements"].append({"code": "ages", "label": "Ages", "type": "count", "dimensions": ["age"]})
    form = compile_form(parse_definition(d))
    r = form.check({"ages": [{"age": 6, "value": 1}, {"age": "6", "value": 2}]})
    assert [f.code for f in r.structure_errors] == ["DUPLICATE_CELL"]
    r = form.check({"ages": [{"age": True, "value": 1}]})
    assert [f.code for f in r.structure_errors] == ["UNKNOWN_OPTION"]


def test_messages_in_english_and_french():
    form = form_with(left="a", op="<=", right="b", for_each=["sex"])
    values = {"a": [{"sex": "F", "value": 5}], "b": [{"sex": "F", "value": 2}]}
    assert form.check(values, lang="en").rule_errors[0].message.startswith("failed")
    assert form.check(values, lang="fr").rule_errors[0].message.startswith("échec")


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"left": "nope", "op": "<=", "right": "a"}, "rule R: unknown element 'nope'"),
        (
            {"left": "a", "op": "<=", "right": "b", "for_each": ["region"]},
            "rule R: unknown dimension 'region' in for_each",
        ),
        (
            {"left": "a", "op": "<=", "right": "flag", "for_each": ["sex"]},
            "rule R: element 'flag' has no dimension 'sex'",
        ),
        ({"left": "a +", "op": "<=", "right": "b"}, "rule R: cannot parse expression"),
        ({"left": "a", "op": "=<", "right": "b"}, "rule R: op"),
        (
            {"left": "when_date", "op": "<=", "right": "a"},
            "rule R: element 'when_date' is date, not a number",
        ),
        (
            {"left": "pupils[grade=G9]", "op": "<=", "right": "a"},
            "rule R: unknown option(s) G9 of 'grade'",
        ),
        ({"left": "__import__('os')", "op": "<=", "right": "a"}, "rule R: cannot parse expression"),
    ],
)
def test_broken_definitions_name_the_rule_and_the_problem(rule, expected):
    d = copy.deepcopy(BASE)
    d["rules"] = [{"code": "R", "message": "m", **rule}]
    with pytest.raises(DefinitionError) as err:
        parse_definition(d)
    assert expected in str(err.value)


def test_duplicate_codes_and_unknown_dimensions_are_all_reported():
    d = copy.deepcopy(BASE)
    d["elements"].append({"code": "a", "label": "again", "type": "count", "dimensions": ["colour"]})
    d["rules"] = [{"code": "R", "left": "a", "op": "<=", "right": "b", "message": "m"}] * 2
    with pytest.raises(DefinitionError) as err:
        parse_definition(d)
    problems = err.value.problems
    assert "element a: duplicate element code" in problems
    assert "element a: unknown dimension 'colour'" in problems
    assert "rule R: duplicate rule code" in problems


def test_standard_form_round_trips_and_has_25_rules():
    from app.forms.checking import STANDARD_FORM_PATH, load_definition_file

    defn = load_definition_file(STANDARD_FORM_PATH)
    assert len(defn.rules) >= 25
    assert parse_definition(defn.model_dump(mode="json")) == defn


def test_a_stored_finding_is_data_read_in_any_language():
    """A finding reads in the language checked in; as stored it keeps no text, only its params,
    and reads later in each reader's language."""
    from app.forms.checking import STANDARD_FORM_PATH, load_definition_file
    from app.i18n import render_finding

    form = compile_form(load_definition_file(STANDARD_FORM_PATH))
    values = {"enrolment": [{"grade": "P1", "sex": "F", "age": 6, "value": -3}]}
    (finding,) = form.check(values, None, "fr").structure_errors
    stored = finding.as_stored()
    assert stored == {
        "code": "NEGATIVE_COUNT",
        "path": "values.enrolment[0].value",
        "severity": "error",
        "params": {"element": "enrolment", "value": -3},
    }
    assert "négatif" in finding.message
    assert render_finding(stored, "fr") == finding.as_dict()
    assert "negative" in render_finding(stored, "en")["message"]
    rule = form.check(
        {
            "enrolment": [{"grade": "P1", "sex": "F", "age": 6, "value": 5}],
            "repeaters": [{"grade": "P1", "sex": "F", "value": 9}],
            "teachers": [{"sex": "F", "value": 1}],
        },
        None,
        "en",
    ).rule_errors
    rep = next(f for f in rule if f.code == "REP_LE_ENR").as_stored()
    assert "message" not in rep and "messages" not in rep
    assert render_finding(rep, "en")["message"].startswith("More repeaters than pupils: 9 > 5")
    assert render_finding(rep, "fr")["message"].startswith(
        "Plus de redoublants que d'élèves: 9 > 5"
    )
