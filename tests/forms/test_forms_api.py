"""Form definitions: loading (immutable versions), serving, and the check on push."""

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from app.cli import app as cli
from app.core.config import get_settings
from app.core.errors import InvalidInput
from app.forms.checking import STANDARD_FORM_PATH
from app.forms.models import FormVersion
from app.forms.service import load_form_file, load_standard_form, load_standard_forms


@pytest.fixture
def emis(db_url, monkeypatch):
    monkeypatch.setenv("EMIS_DATABASE_URL", db_url)
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *a: runner.invoke(cli, list(a))
    get_settings.cache_clear()


def test_load_is_idempotent_and_a_loaded_version_never_changes(emis, tmp_path: Path):
    first = emis("forms", "load", str(STANDARD_FORM_PATH))
    assert first.exit_code == 0 and "Loaded annual_school_census v1" in first.output
    again = emis("forms", "load", str(STANDARD_FORM_PATH))
    assert again.exit_code == 0 and "Already loaded (identical)" in again.output
    changed = yaml.safe_load(STANDARD_FORM_PATH.read_text(encoding="utf-8"))
    changed["rules"][0]["severity"] = "warning"
    f = tmp_path / "changed.json"
    f.write_text(json.dumps(changed))
    refused = emis("forms", "load", str(f))
    assert refused.exit_code == 1
    assert "already loaded with other content" in refused.output and "version 2" in refused.output
    changed["version"] = 2
    f.write_text(json.dumps(changed))
    assert emis("forms", "load", str(f)).exit_code == 0


def test_broken_definition_is_refused_naming_rule_and_problem(emis, tmp_path: Path):
    broken = yaml.safe_load(STANDARD_FORM_PATH.read_text(encoding="utf-8"))
    broken["rules"][1]["right"] = "enrolmnt"
    f = tmp_path / "broken.yaml"
    f.write_text(yaml.safe_dump(broken))
    result = emis("forms", "load", str(f))
    assert result.exit_code == 1
    assert f"rule {broken['rules'][1]['code']}: unknown element 'enrolmnt'" in result.output


def test_several_problems_are_printed_one_per_line(emis, tmp_path: Path):
    """A definition with three problems is refused with each problem on a line of its own."""
    broken = yaml.safe_load(STANDARD_FORM_PATH.read_text(encoding="utf-8"))
    rules = broken["rules"]
    rules[1]["right"] = "enrolmnt"
    rules[2]["left"], rules[2]["for_each"] = "repeaters[grade=P9]", ["sex"]
    rules[3]["left"] = "(" * 3000 + "enrolment" + ")" * 3000
    f = tmp_path / "broken.yaml"
    f.write_text(yaml.safe_dump(broken))
    result = emis("forms", "load", str(f))
    assert result.exit_code == 1
    lines = [line.strip() for line in result.output.splitlines()]
    assert "Error: The form definition in broken.yaml is not valid (3 problems):" in lines
    assert f"rule {rules[1]['code']}: unknown element 'enrolmnt'" in lines
    assert f"rule {rules[2]['code']}: unknown option(s) P9 of 'grade'" in lines
    deep = [x for x in lines if x.startswith(f"rule {rules[3]['code']}: ")]
    assert deep == [
        f"rule {rules[3]['code']}: expression too deeply nested "
        "(more than 50 brackets or minus signs inside one another)"
    ]
    assert "; rule" not in result.output


def test_bracketed_expressions_are_printed_as_written(emis, tmp_path: Path):
    """A problem quoting `enrolment[grade=P1]` shows the brackets, not a swallowed markup tag."""
    broken = yaml.safe_load(STANDARD_FORM_PATH.read_text(encoding="utf-8"))
    broken["rules"][0]["left"] = "enrolment[grade=P1] +"
    f = tmp_path / "broken.yaml"
    f.write_text(yaml.safe_dump(broken))
    result = emis("forms", "load", str(f))
    assert result.exit_code == 1
    assert "'enrolment[grade=P1] +'" in result.output


def test_service_error_lists_each_problem(session, tmp_path: Path):
    """Loading a broken file through the service gives one error item per problem."""
    broken = yaml.safe_load(STANDARD_FORM_PATH.read_text(encoding="utf-8"))
    broken["rules"][1]["right"] = "enrolmnt"
    broken["rules"][4]["right"] = "pupils"
    f = tmp_path / "broken.json"
    f.write_text(json.dumps(broken))
    with pytest.raises(InvalidInput) as err:
        load_form_file(session, f)
    assert err.value.detail == "The form definition in broken.json is not valid (2 problems)."
    assert [(e["path"], e["message"]) for e in err.value.errors] == [
        (f"rule {broken['rules'][1]['code']}", "unknown element 'enrolmnt'"),
        (f"rule {broken['rules'][4]['code']}", "unknown element 'pupils'"),
    ]
    f.write_text("[1, 2]")
    with pytest.raises(InvalidInput) as err:
        load_form_file(session, f)
    assert err.value.errors == [
        {
            "code": "INVALID_DEFINITION",
            "path": "broken.json",
            "message": "a form definition must be a mapping",
        }
    ]


def test_stored_title_is_the_english_text(emis, session):
    """The form's stored title and the load message read "Annual school census", not a dict."""
    result = emis("forms", "load", str(STANDARD_FORM_PATH))
    assert "Loaded annual_school_census v1: Annual school census\n" in result.output
    row = session.get(FormVersion, ("annual_school_census", 1))
    assert row.title == "Annual school census"


def test_forms_are_served(demo):
    h = demo.auth("clerk")
    forms = demo.client.get("/api/v1/forms", headers=h).json()
    # Every shipped version of the standard census, in version order.
    assert [(f["code"], f["version"]) for f in forms] == [
        ("annual_school_census", 1),
        ("annual_school_census", 2),
    ]
    # The definition as loaded: the title in both languages; the stored row's title is plain.
    assert forms[0]["title"] == {"en": "Annual school census", "fr": "Recensement scolaire annuel"}
    with demo.factory() as s:
        row, created = load_standard_form(s)
    assert not created and row.title == "Annual school census"
    one = demo.client.get("/api/v1/forms/annual_school_census/1", headers=h).json()
    assert len(one["rules"]) >= 25
    assert demo.client.get("/api/v1/forms/annual_school_census/7", headers=h).status_code == 404


def test_standard_forms_v1_and_v2_are_both_loaded_and_readable(demo):
    """v2 replaces v1's three teacher elements by one broken down by level, sex, qualification
    and training, and adds graduates; v1 stays loaded and readable beside it."""
    h = demo.auth("clerk")
    v1 = demo.client.get("/api/v1/forms/annual_school_census/1", headers=h).json()
    v2 = demo.client.get("/api/v1/forms/annual_school_census/2", headers=h).json()
    dims = {e["code"]: e["dimensions"] for e in v2["elements"]}
    v1_dims = {e["code"]: e["dimensions"] for e in v1["elements"]}
    assert v1_dims["teachers"] == ["sex"] and "teachers_qualified" in v1_dims
    assert dims["teachers"] == ["level", "sex", "qualified", "trained"]
    assert dims["graduates"] == ["level", "sex"]
    assert set(v1_dims) - set(dims) == {"teachers_qualified", "teachers_trained"}
    assert set(dims) - set(v1_dims) == {"graduates"}
    assert all(dims[c] == d for c, d in v1_dims.items() if c in dims and c != "teachers")
    assert v2["categories"]["level"]["options"] == [
        "pre_primary",
        "primary",
        "lower_secondary",
        "upper_secondary",
    ]
    assert v2["categories"]["qualified"]["options"] == ["yes", "no"]
    assert v2["categories"]["trained"]["options"] == ["yes", "no"]
    rules = {r["code"] for r in v2["rules"]}
    assert {"TEACHERS_WHEN_PUPILS", "TEACHERS_LE_PUPILS", "PTR_IMPOSSIBLE"} <= rules
    assert not rules & {"QUAL_LE_TEACHERS", "TRAIN_LE_TEACHERS"}
    for part in ("elements", "rules"):
        for x in v2[part]:
            text = x.get("label") or x["message"]
            assert set(text) == {"en", "fr"}, x["code"]
    with demo.factory() as s:
        loaded = load_standard_forms(s)
    assert [(row.version, created) for row, created in loaded] == [(1, False), (2, False)]


def test_push_reports_the_same_findings_as_the_client(demo):
    from sync_client.checks import compile_form, load_definition_file
    from tests.sync.helpers import clerk_schools, item, push

    case = json.loads(
        (Path(__file__).parent / "corpus" / "15_more_repeaters_than_pupils.json").read_text()
    )
    local = compile_form(load_definition_file(STANDARD_FORM_PATH)).check(case["values"], None)
    result = push(
        demo, [item(clerk_schools(demo)[0], demo.result.years[1], values=case["values"])]
    ).json()
    (r,) = result["results"]
    assert r["return_status"] == "invalid"
    assert r["errors"] == [f.as_dict() for f in local.rule_errors]
    assert r["warnings"] == [f.as_dict() for f in local.warnings]
