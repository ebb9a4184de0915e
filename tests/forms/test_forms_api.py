"""Form definitions: loading (immutable versions), serving, and the check on push."""

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from app.cli import app as cli
from app.core.config import get_settings
from app.forms.checking import STANDARD_FORM_PATH


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


def test_forms_are_served(demo):
    h = demo.auth("clerk")
    forms = demo.client.get("/api/v1/forms", headers=h).json()
    assert [(f["code"], f["version"]) for f in forms] == [("annual_school_census", 1)]
    one = demo.client.get("/api/v1/forms/annual_school_census/1", headers=h).json()
    assert len(one["rules"]) >= 25
    assert demo.client.get("/api/v1/forms/annual_school_census/7", headers=h).status_code == 404


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
