"""The corpus of bad returns gives the expected findings, identically on the server's path (the
definition as stored in the database, compiled as push compiles it) and on the client's path
(`sync_client.checks` in a separate process that never imports server code)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.db import make_engine
from app.core.uow import Database, unit_of_work
from app.forms.service import compiled_form, load_standard_form

CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.json"))
ROOT = Path(__file__).resolve().parents[2]

SERVER_LIBRARIES = ("fastapi", "starlette", "sqlmodel", "sqlalchemy", "uvicorn", "alembic")

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
print(json.dumps({"findings": out, "modules": sorted(sys.modules)}))
"""


def run_client(*extra_imports: str) -> dict:
    """Run the client path in a fresh interpreter (after `extra_imports`, for the control)."""
    script = "".join(f"import {m}\n" for m in extra_imports) + CLIENT_SCRIPT
    done = subprocess.run(
        [sys.executable, "-c", script, *map(str, CORPUS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def foreign_modules(modules: list[str]) -> list[str]:
    """Loaded modules the offline client must not need: server libraries and any `app` module
    other than `app`, `app.forms`, the check engine under `app.forms.checking` and the message
    catalogues under `app.i18n`."""
    allowed_app = ("app", "app.forms", "app.forms.checking", "app.i18n")
    return [
        m
        for m in modules
        if m.split(".")[0] in SERVER_LIBRARIES
        or (
            m.split(".")[0] == "app"
            and m not in allowed_app
            and not m.startswith(("app.forms.checking.", "app.i18n."))
        )
    ]


@pytest.fixture(scope="module")
def client_results() -> dict:
    return run_client()


def test_corpus_is_large_enough():
    """The corpus holds at least 25 bad returns."""
    bad = [c for c in CORPUS if json.loads(c.read_text())["expect"]]
    assert len(bad) >= 25


def test_client_path_loads_only_the_check_engine(client_results):
    """Checking offline loads the check engine and no other server code or server library."""
    modules = client_results["modules"]
    assert "app.forms.checking.checker" in modules  # the probe saw the engine being used
    assert "app.i18n" in modules  # and its texts rendered from the catalogues
    assert foreign_modules(modules) == []
    assert not {"fastapi", "sqlmodel", "sqlalchemy"} & set(modules)


def test_isolation_probe_notices_server_code():
    """The isolation check would fail if the client path pulled in the server's form service."""
    found = foreign_modules(run_client("app.forms.service")["modules"])
    assert "app.forms.service" in found
    assert "sqlalchemy" in found


@pytest.mark.parametrize("path", CORPUS, ids=[c.stem for c in CORPUS])
def test_case_gives_expected_findings_on_both_paths(path: Path, db_url: str, client_results):
    """Each corpus case gives its expected codes, and the same findings on server and client."""
    case = json.loads(path.read_text(encoding="utf-8"))
    engine = make_engine(db_url)
    with unit_of_work(Database(engine)) as uow:
        row, _ = load_standard_form(uow.session)
    engine.dispose()
    server = compiled_form(row)
    for lang in ("en", "fr"):
        result = server.check(case["values"], case["previous"], lang)
        findings = [f.as_dict() for f in result.errors + result.warnings]
        assert sorted({f["code"] for f in findings}) == case["expect"], case["description"]
        assert findings == client_results["findings"][path.name][lang]
