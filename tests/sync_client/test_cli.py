"""`emis-sync check`: a clerk checks a return offline and sees the server's verdict."""

import json
from pathlib import Path

from typer.testing import CliRunner

from app.forms.checking import STANDARD_FORM_PATH
from sync_client.cli import app

CORPUS = Path(__file__).resolve().parents[1] / "forms" / "corpus"
runner = CliRunner()


def values_file(tmp_path: Path, name: str) -> Path:
    case = json.loads((CORPUS / name).read_text(encoding="utf-8"))
    f = tmp_path / "values.json"
    f.write_text(json.dumps(case["values"]), encoding="utf-8")
    return f


def test_good_return_passes(tmp_path: Path):
    result = runner.invoke(
        app, ["check", str(STANDARD_FORM_PATH), str(values_file(tmp_path, "00_good.json"))]
    )
    assert result.exit_code == 0
    assert "verdict: ok" in result.output


def test_bad_return_lists_findings_in_french(tmp_path: Path):
    f = values_file(tmp_path, "15_more_repeaters_than_pupils.json")
    result = runner.invoke(app, ["check", str(STANDARD_FORM_PATH), str(f), "--lang", "fr"])
    assert result.exit_code == 1
    assert "REP_LE_ENR" in result.output and "Plus de redoublants que d'élèves" in result.output
    assert "verdict: invalid" in result.output
