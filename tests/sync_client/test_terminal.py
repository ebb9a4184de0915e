"""The command line in an 80-column terminal: nothing a clerk needs is cut, in either language."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.sync_client.conftest import ROOT, make_client
from tests.sync_client.helpers import demo_returns, write_json
from tests.sync_client.test_workflow import _mistakes_workbook


def run(home: Path, *args: str, lang: str = "en") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "80", "EMIS_SYNC_HOME": str(home), "LANG": "C.UTF-8"}
    return subprocess.run(
        [sys.executable, "-m", "sync_client.cli", "--lang", lang, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def flat(text: str) -> str:
    """The words of the output in order, whatever the line breaks and table borders."""
    return " ".join(re.sub(r"[│┃┏┓┗┛┡┩└┘├┤┼━─╇╋┳┻┯┷]", " ", text).split())


def narrow(out: str) -> None:
    assert max(len(line) for line in out.splitlines()) <= 80, out


def test_status_import_and_conflicts_fit_80_columns(server, tmp_path):
    token = server.token("clerk")
    home = tmp_path / "laptop"
    clerk = make_client(home, server.base, token)
    clerk.pull()
    returns = demo_returns(clerk, 3)
    clerk.import_file(write_json(tmp_path / "r.json", server.year, returns))
    clerk.push()
    book, w = _mistakes_workbook(clerk, tmp_path)
    # a conflict: another laptop changes a school after this one last saw it
    code = sorted(returns)[0]
    other = make_client(tmp_path / "other", server.base, token)
    other.pull()
    other.set_cells(code, {"teachers[sex=F]": 7})
    other.push()
    clerk.set_cells(code, {"teachers[sex=F]": 9, "enrolment[grade=P1,sex=F,age=6]": 99})
    clerk.push()
    clerk.close()
    other.close()

    status = run(home, "status")
    assert status.returncode == 0, status.stderr
    narrow(status.stdout)
    lines = status.stdout.splitlines()
    names = w["names"]
    for school, name in names.items():
        [i] = [n for n, line in enumerate(lines) if school in line and line.startswith("│")]
        block = lines[i : i + 3]
        words = flat(" ".join(block))
        assert all(part in words for part in name.split()), (name, block)
    [row] = [line for line in lines if code in line and line.startswith("│")]
    assert "CONFLICT" in row and "submitted r2" in row

    imported = run(home, "import", str(book))
    assert imported.returncode == 1
    narrow(imported.stdout)
    text = flat(imported.stdout)
    assert "3 problem(s); nothing was imported" in text
    a, b = w["a"], w["b"]
    assert f"{a} {names[a]} • sheet enrolment, row {w['row_a']}, cell F{w['row_a']}:" in text
    assert "'12 pupils' is not a whole number." in text
    assert f"{b} {names[b]} • sheet teachers, row {w['row_b']}, cell C{w['row_b']}:" in text
    assert "-3 is negative; a count cannot be below 0." in text
    assert f"sheet teachers, row {w['last']}, cell A{w['last']}: The school DM-999999" in text
    assert (
        "Fix: Type a whole number (0 or more), or leave the cell blank if it is not known." in text
    )

    conflicts = run(home, "conflicts")
    assert conflicts.returncode == 0, conflicts.stderr
    narrow(conflicts.stdout)
    text = flat(conflicts.stdout)
    assert f"{code} {names[code]}" in text
    assert "you edited revision 1; the server now has revision 2 by clerk." in text
    assert "teachers[sex=F] 9 7" in text
    assert "enrolment[grade=P1,sex=F,age=6] 99" in text
    assert f"emis-sync resolve {code} --keep mine|theirs" in text

    fr = run(home, "conflicts", lang="fr")
    narrow(fr.stdout)
    assert "vous avez modifié la révision 1" in flat(fr.stdout)

    js = run(home, "status", "--json")
    data = json.loads(js.stdout)
    assert {s["school"] for s in data["schools"]} == set(names)
