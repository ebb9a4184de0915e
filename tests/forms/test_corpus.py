"""The corpus of bad returns gives the expected findings, identically on the server's path (the
definition as stored in the database, compiled as push compiles it) and on the client's path
(`sync_client.checks` in a separate process that never imports server code)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from app.forms.service import compiled_form, load_standard_form

CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.json"))
ROOT = Path(__file__).resolve().parents[2]

CLIENT_SCRIPT = """
import json, sys
from pathlib import Path
from sync_client.checks import STANDARD_FORM_PATH, compile_form, load_definition_file

form = compile_form(load_definition_file(STANDARD_FORM_PATH))
out = {}
for name in sys.argv[1:]:
    case = json.loads(Path(name).read_text(encoding="utf-8"))
    out[Path(name).name] = {lang: [f.as_dict() for f in (lambda r: r.errors + r.warnings)(
        form.check(case["values"], case["previous"], lang))] for lang in ("en", "fr")}
server_modules = sorted(m for m in sys.modules if m.split(".")[0] in
                        ("fastapi", "starlette", "sqlmodel", "sqlalchemy", "uvicorn", "alembic")
                        or m.startswith(("app.core", "app.registry", "app.auth", "app.sync", "app.returns")))
print(json.dumps({"findings": out, "server_modules": server_modules}))
"""


@pytest.fixture(scope="module")
def client_results() -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CLIENT_SCRIPT, *map(str, CORPUS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def test_corpus_is_large_enough():
    bad = [c for c in CORPUS if json.loads(c.read_text())["expect"]]
    assert len(bad) >= 25


def test_client_path_loads_no_server_code(client_results):
    assert client_results["server_modules"] == []


@pytest.mark.parametrize("path", CORPUS, ids=[c.stem for c in CORPUS])
def test_case_gives_expected_findings_on_both_paths(path: Path, session: Session, client_results):
    case = json.loads(path.read_text(encoding="utf-8"))
    row, _ = load_standard_form(session)
    server = compiled_form(row)
    for lang in ("en", "fr"):
        result = server.check(case["values"], case["previous"], lang)
        findings = [f.as_dict() for f in result.errors + result.warnings]
        assert sorted({f["code"] for f in findings}) == case["expect"], case["description"]
        assert findings == client_results["findings"][path.name][lang]
