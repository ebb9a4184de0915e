"""Rendering: stored params become the reader's text, for every family of finding; findings
stored as text before they were data still read as they did."""

import json
from pathlib import Path

import pytest

from app.forms.checking import (
    STANDARD_FORM_PATH,
    compile_form,
    load_definition_file,
    parse_definition,
)
from app.i18n import render, render_finding, render_findings
from app.sync.messages import push_finding, push_message
from tests.forms.helpers import definition_with

CORPUS = sorted((Path(__file__).parents[1] / "forms" / "corpus").glob("*.json"))
FORM = compile_form(load_definition_file(STANDARD_FORM_PATH))


def stored(code, severity="error", path="values.x", **params):
    return {"code": code, "path": path, "severity": severity, "params": params}


@pytest.mark.parametrize(
    ("finding", "en", "fr"),
    [
        (
            stored("NEGATIVE_COUNT", element="enrolment", value=-3),
            "“enrolment” cannot be negative (-3).",
            "« enrolment » ne peut pas être négatif (-3).",
        ),
        (
            stored("WRONG_TYPE", element="has_electricity", type="boolean", value="'yes'"),
            "“has_electricity” must be true or false, not 'yes'.",
            "« has_electricity » doit être vrai ou faux (true/false), pas 'yes'.",
        ),
        (
            stored(
                "REP_LE_ENR",
                template="RULE_COMPARE",
                rule={"en": "More repeaters than pupils", "fr": "Plus de redoublants que d'élèves"},
                left="9",
                op=">",
                right="5",
                where="grade=P1, sex=F",
            ),
            "More repeaters than pupils: 9 > 5 (grade=P1, sex=F)",
            "Plus de redoublants que d'élèves: 9 > 5 (grade=P1, sex=F)",
        ),
        (
            stored(
                "R",
                template="RULE_PAIR",
                rule="Internet needs power",
                left="internet",
                right="electricity",
                left_state="present",
                right_state="missing",
            ),
            "Internet needs power: internet: present, electricity: missing",
            "Internet needs power: internet: rempli, electricity: absent",
        ),
        (
            stored("R", template="RULE_EXCLUSIVE", rule={"en": "Pick one"}, left="a", right="b"),
            "Pick one: both a and b are filled in; only one of them may be",
            "Pick one: a et b sont tous deux remplis ; un seul des deux peut l'être",
        ),
        (
            stored("ENROL_CHANGE", "warning", grade="P2", share="+100", before=30, now=60),
            "Enrolment in P2 changed by +100% since last year (30 → 60).",
            "L'effectif en P2 a varié de +100 % depuis l'an dernier (30 → 60).",
        ),
        (
            stored("OUTSIDE_AREA", path="school", school="DM-000001", area="DM-R02"),
            "School DM-000001 lies outside your area (DM-R02).",
            "L'école DM-000001 est hors de votre zone (DM-R02).",
        ),
    ],
    ids=["structure", "term", "rule", "pair", "exclusive", "plausibility", "push"],
)
def test_each_family_renders_in_english_and_french(finding, en, fr):
    for lang, text in (("en", en), ("fr", fr)):
        assert render_finding(finding, lang) == {
            "code": finding["code"],
            "path": finding["path"],
            "message": text,
            "severity": finding["severity"],
        }


def test_unknown_language_reads_english_and_unknown_code_reads_as_itself():
    assert render("UNKNOWN_YEAR", "de", {"year": 1999}) == "No school year 1999."
    assert render("NO_SUCH_CODE", "fr", {"a": 1}) == "NO_SUCH_CODE"


def test_a_missing_param_stays_visible_and_nothing_raises():
    assert render("ENROL_CHANGE", "en", {"grade": "P1"}) == (
        "Enrolment in P1 changed by {share}% since last year ({before} → {now})."
    )
    assert render("UNKNOWN_YEAR", "en", None) == "No school year {year}."  # type: ignore[arg-type]
    assert render_finding({"code": "UNKNOWN_YEAR", "params": "junk"}, "en")["message"] == (
        "UNKNOWN_YEAR"
    )


def test_a_rule_code_never_takes_an_engine_text():
    """A form may name a rule like an engine code; its finding still reads as the rule."""
    f = stored("NEGATIVE_COUNT", template="RULE_COMPARE", rule="Mine", left="1", op="<", right="2")
    assert render_finding(f, "en")["message"] == "Mine: 1 < 2"


def test_a_rule_message_without_the_readers_language_reads_in_english():
    f = stored(
        "R",
        template="RULE_COMPARE",
        rule={"en": "Too many", "de": "Zu viele"},
        left="3",
        op=">",
        right="2",
    )
    assert render_finding(f, "fr")["message"] == "Too many: 3 > 2"


def test_findings_stored_as_text_still_read_in_the_readers_language():
    both = {
        "code": "REP_LE_ENR",
        "path": "values.repeaters[grade=P1,sex=F]",
        "message": "Plus de redoublants que d'élèves: 9 > 5",
        "severity": "error",
        "messages": {
            "en": "More repeaters than pupils: 9 > 5",
            "fr": "Plus de redoublants que d'élèves: 9 > 5",
        },
    }
    only_one = {"code": "PTR_HIGH", "path": "values.teachers", "message": "90 pupils…"}
    assert render_findings([both, only_one], "en") == [
        {
            "code": "REP_LE_ENR",
            "path": "values.repeaters[grade=P1,sex=F]",
            "message": "More repeaters than pupils: 9 > 5",
            "severity": "error",
        },
        {"code": "PTR_HIGH", "path": "values.teachers", "message": "90 pupils…", "severity": None},
    ]
    assert render_finding(both, "fr")["message"] == "Plus de redoublants que d'élèves: 9 > 5"
    assert render_finding(both, "de")["message"] == "More repeaters than pupils: 9 > 5"
    kept = stored("OLD", template="STORED_TEXT", text={"en": "Old words", "fr": "Vieux mots"})
    assert render_finding(kept, "fr")["message"] == "Vieux mots"
    assert render_finding(kept, "de")["message"] == "Old words"


@pytest.mark.parametrize("path", CORPUS, ids=[c.stem for c in CORPUS])
def test_engine_findings_are_stored_as_data_and_read_back_as_checked(path):
    """A stored finding holds no text: only its code, path, severity and params; read in any
    language it is exactly what the check said in that language."""
    case = json.loads(path.read_text(encoding="utf-8"))
    by_lang = {lang: FORM.check(case["values"], case["previous"], lang) for lang in ("en", "fr")}
    en, fr = (r.errors + r.warnings for r in by_lang.values())
    kept = [f.as_stored() for f in fr]
    assert kept == [f.as_stored() for f in en]  # the data does not depend on the language
    for f, text_en, text_fr in zip(kept, en, fr, strict=True):
        assert set(f) == {"code", "path", "severity", "params"}
        blob = json.dumps(f, ensure_ascii=False)
        assert text_en.message not in blob and text_fr.message not in blob
        assert json.loads(blob) == f  # plain JSON
        assert render_finding(f, "en") == text_en.as_dict()
        assert render_finding(f, "fr") == text_fr.as_dict()


def test_a_rule_finding_keeps_the_definitions_message_and_the_figures():
    form = compile_form(
        parse_definition(definition_with(left="a", op="<=", right="b", for_each=["sex"]))
    )
    (f,) = form.check(
        {"a": [{"sex": "F", "value": 9}], "b": [{"sex": "F", "value": 5}]}, None, "fr"
    ).rule_errors
    assert f.as_stored() == {
        "code": "R",
        "path": "values.a[sex=F]",
        "severity": "error",
        "params": {
            "template": "RULE_COMPARE",
            "rule": {"en": "failed", "fr": "échec"},
            "left": "9",
            "op": ">",
            "right": "5",
            "where": "sex=F",
        },
    }
    assert f.message == "échec: 9 > 5 (sex=F)"
    assert f.in_language("en") == "failed: 9 > 5 (sex=F)"


def test_the_push_texts_come_from_the_catalogues():
    assert push_message("UNKNOWN_YEAR", "fr", year=1999) == "Aucune année scolaire 1999."
    f = push_finding("UNKNOWN_SCHOOL", "school", school="NO-SUCH")
    assert f == {
        "code": "UNKNOWN_SCHOOL",
        "path": "school",
        "severity": "error",
        "params": {"school": "NO-SUCH"},
    }
    assert render_finding(f, "fr")["message"] == "Aucune école n'a le code « NO-SUCH »."
