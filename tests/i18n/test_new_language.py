"""Adding a language is adding a catalogue: the test-only xx.yaml, registered at run time and
touching no code, makes the engine, the push and the return reads answer in it, with English
for each text it lacks."""

import pytest

import app.core.lang as lang_module
import app.i18n as i18n
from app.core.lang import pick_language
from app.forms.checking import STANDARD_FORM_PATH, compile_form, load_definition_file
from tests.sync.helpers import FORM, clerk_schools, good_values, item, push

XX = {"Accept-Language": "xx"}


def test_a_registered_catalogue_is_a_language_the_server_speaks(xx_language):
    assert "xx" in i18n.LANGUAGES and i18n.LANGUAGES[0] == "en"
    assert "xx" in lang_module.SUPPORTED
    assert pick_language("xx-YY, fr;q=0.5") == "xx"
    i18n.unregister_catalogue("xx")
    assert "xx" not in lang_module.SUPPORTED
    assert pick_language("xx, fr;q=0.5") == "fr"


def test_the_engine_speaks_the_new_language(xx_language):
    form = compile_form(load_definition_file(STANDARD_FORM_PATH))
    values = good_values()
    values["enrolment"][0]["value"] = -1
    values["has_electricity"] = 3  # a boolean
    values["enrolment"].append({**values["enrolment"][1], "value": None})
    messages = {f.code: f.message for f in form.check(values, None, "xx").structure_errors}
    assert messages["NEGATIVE_COUNT"] == "[xx] enrolment below zero: -1"
    assert messages["WRONG_TYPE"] == "[xx] has_electricity wants true or false"  # English term
    assert messages["NULL_VALUE"].startswith("“enrolment” is empty (null)")  # English text
    rule = good_values()
    p1f = next(r for r in rule["repeaters"] if r["grade"] == "P1" and r["sex"] == "F")
    p1f["value"] = 10_000
    (rep,) = [f for f in form.check(rule, None, "xx").rule_errors if f.code == "REP_LE_ENR"]
    assert rep.message.startswith("[xx] More repeaters than pupils — 10000 > ")
    assert rep.message.endswith(" [xx: grade=P1, sex=F]")


def test_the_push_and_the_reads_answer_in_the_new_language(demo, xx_language):
    year = demo.result.years[1]
    school, other = clerk_schools(demo)[0], clerk_schools(demo, "clerk2")[0]
    negative = good_values()
    negative["enrolment"][0]["value"] = -1
    too_many = good_values()
    p1f = next(r for r in too_many["repeaters"] if r["grade"] == "P1" and r["sex"] == "F")
    p1f["value"] = 10_000
    items = [
        item(school, year, values=negative),
        item("NO-SUCH", year),
        item(other, year),
        item(school, year, values=too_many),
    ]
    resp = push(demo, items, headers=XX)
    assert resp.status_code == 200, resp.text
    neg, unknown, outside, applied = resp.json()["results"]
    assert neg["status"] == "rejected"
    assert neg["errors"][0]["message"] == "[xx] enrolment below zero: -1"
    assert unknown["errors"][0]["message"] == "[xx] no school NO-SUCH"  # the push's own text
    assert outside["errors"][0]["code"] == "OUTSIDE_AREA"
    assert "outside your area" in outside["errors"][0]["message"]  # xx lacks it: English
    assert applied["status"] == "applied" and applied["return_status"] == "invalid"
    rep = next(e for e in applied["errors"] if e["code"] == "REP_LE_ENR")
    assert rep["message"].startswith("[xx] More repeaters than pupils — 10000 > ")

    url = f"/api/v1/returns/{FORM}/{year}/{school}"
    for header, start in (
        ("xx", "[xx] More repeaters than pupils — 10000 > "),
        ("fr", "Plus de redoublants que d'élèves: 10000 > "),
        ("en", "More repeaters than pupils: 10000 > "),
    ):
        read = demo.client.get(url, headers={**demo.auth("clerk"), "Accept-Language": header})
        assert read.status_code == 200, read.text
        got = next(e for e in read.json()["errors"] if e["code"] == "REP_LE_ENR")
        assert got["message"].startswith(start), header


@pytest.mark.parametrize("header", ["xx", "xx-YY;q=1, en;q=0.9"])
def test_without_the_catalogue_the_language_is_not_offered(demo, header):
    year = demo.result.years[1]
    resp = push(demo, [item("NO-SUCH", year)], headers={"Accept-Language": header})
    assert resp.json()["results"][0]["errors"][0]["message"] == "No school has the code “NO-SUCH”."
