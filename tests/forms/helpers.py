"""A small test form and shortcuts for building one-rule forms and reading their findings."""

import copy
from typing import Any

from app.forms.checking import CompiledForm, compile_form, parse_definition

BASE: dict[str, Any] = {
    "code": "t",
    "version": 1,
    "title": "Test form",
    "categories": {
        "sex": {"label": "Sex", "options": ["F", "M"]},
        "grade": {"label": "Grade", "options": ["G1", "G2"]},
    },
    "elements": [
        {"code": "a", "label": "A", "type": "count", "dimensions": ["sex"]},
        {"code": "b", "label": "B", "type": "count", "dimensions": ["sex"]},
        {"code": "flag", "label": "Flag", "type": "boolean"},
        {"code": "when_date", "label": "Date", "type": "date"},
        {"code": "pupils", "label": "Pupils", "type": "count", "dimensions": ["grade", "sex"]},
    ],
    "rules": [],
}


def definition_with(**rule: Any) -> dict[str, Any]:
    """BASE with one rule R (message "failed" / "échec") made of `rule`."""
    d = copy.deepcopy(BASE)
    d["rules"] = [{"code": "R", "message": {"en": "failed", "fr": "échec"}, **rule}]
    return d


def form_with(**rule: Any) -> CompiledForm:
    """The test form with one rule R, checked and compiled."""
    return compile_form(parse_definition(definition_with(**rule)))


def codes(form: CompiledForm, values: Any) -> list[str]:
    """The codes of every finding, errors then warnings."""
    r = form.check(values)
    return [f.code for f in r.errors + r.warnings]


def cells(**values: int | None) -> dict[str, list[dict[str, Any]]]:
    """Values for elements by sex F; an element given None is left out (missing)."""
    return {el: [{"sex": "F", "value": v}] for el, v in values.items() if v is not None}
