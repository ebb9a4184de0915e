"""The whole set-up and a day's work through the `emis-sync` command itself (subprocesses), with
--json for scripts; a reviewer's comment reaches `status`; CSV and JSON Lines imports."""

import json
from pathlib import Path

from sqlalchemy import select

from tests.sync_client.conftest import make_client
from tests.sync_client.helpers import demo_returns
from tests.sync_client.test_terminal import flat, narrow, run


def return_with_comment(server, school: str, comment: str) -> None:
    """What a reviewer does (the review endpoint is not built yet): status `returned` with a
    comment, recorded in the change sequence so that devices learn of it."""
    from app.core.changelog import Change, note_changes
    from app.core.db import make_engine
    from app.core.uow import Database, unit_of_work
    from app.registry.models import AdminUnit, School
    from app.returns.models import CensusReturn
    from app.returns.service import ReturnStatus, change_status

    engine = make_engine(server.url)
    with unit_of_work(Database(engine)) as uow:
        s = uow.session
        sid, path = s.execute(
            select(School.id, AdminUnit.path)
            .join(AdminUnit, AdminUnit.id == School.admin_unit_id)
            .where(School.code == school)
        ).one()
        ret = s.scalars(select(CensusReturn).where(CensusReturn.school_id == sid)).one()
        change_status(s, ret.id, ReturnStatus.RETURNED, by=None, at=uow.now, comment=comment)
        note_changes(
            s, [Change("return", f"annual_school_census/{server.year}/{school}", "upsert", path)]
        )
    engine.dispose()


def test_a_clerks_day_on_the_command_line(server, tmp_path: Path):
    import os
    import subprocess
    import sys

    from tests.sync_client.conftest import ROOT

    home = tmp_path / "laptop"
    assert run(home, "init", "--server", server.base).returncode == 0
    login = subprocess.run(
        [sys.executable, "-m", "sync_client.cli", "login", "-u", "clerk", "--password-stdin"],
        input=server.passwords["clerk"] + "\n",
        cwd=ROOT,
        env={**os.environ, "EMIS_SYNC_HOME": str(home)},
        capture_output=True,
        text=True,
    )
    assert login.returncode == 0 and "Logged in as clerk" in login.stdout, login.stderr
    config = json.loads((home / "config.json").read_text())
    assert server.passwords["clerk"] not in json.dumps(config) and config["token"]
    pulled = json.loads(run(home, "pull", "--json").stdout)
    assert pulled["changes"] > 0
    doctor = run(home, "doctor", "--json")
    assert doctor.returncode == 0 and all(c["ok"] for c in json.loads(doctor.stdout))

    clerk = make_client(home, server.base, config["token"])
    values = demo_returns(clerk, 2)
    clerk.close()
    a, b = sorted(values)
    csv_file = tmp_path / "census.csv"
    lines = ["school,element,grade,sex,age,condition,subject,value"]
    for code in (a, b):
        for cell in values[code]["enrolment"]:
            lines.append(
                f"{code},enrolment,{cell['grade']},{cell['sex']},{cell['age']},,,{cell['value']}"
            )
        for cell in values[code]["teachers"]:
            lines.append(f"{code},teachers,,{cell['sex']},,,,{cell['value']}")
    lines.insert(3, ",,,,,,,")  # a blank line is skipped
    csv_file.write_text("\n".join(lines) + "\n")
    imported = json.loads(run(home, "import", str(csv_file), "--json").stdout)
    assert imported["ok"] and [r["school"] for r in imported["returns"]] == [a, b]

    shown = json.loads(run(home, "show", a, "--json").stdout)
    assert shown["state"] == "pending"
    assert run(home, "set", a, "teachers[sex=F]=6", "--json").returncode == 0
    pushed = run(home, "push", "--json")
    data = json.loads(pushed.stdout)
    # the edit waited for the first change of its return, then went in a second request
    assert [r["status"] for r in data["results"]] == ["applied"] * 3 and data["batches"] == 2
    assert data["outbox"] == 0
    synced = json.loads(run(home, "sync", "--json").stdout)
    assert synced["push"]["sent"] == 0 and synced["pull"]["changes"] > 0
    stored = server.stored()
    assert [r[0] for r in stored[a]] == [1, 2] and [r[0] for r in stored[b]] == [1]
    assert {c["sex"]: c["value"] for c in stored[a][-1][1]["teachers"]}["F"] == 6

    return_with_comment(server, b, "P1 girls look doubled; please check the register.")
    run(home, "pull")
    status = run(home, "status")
    narrow(status.stdout)
    assert "Reviewer : P1 girls look doubled; please check the register." not in status.stdout
    assert "P1 girls look doubled; please check the register." in flat(status.stdout)
    [row] = [line for line in status.stdout.splitlines() if b in line and line.startswith("│")]
    assert "returned r1" in row
    fr = run(home, "status", lang="fr")
    assert "Relecteur" in fr.stdout and "à jour" in fr.stdout


def test_json_lines_import_names_the_line_of_each_problem(server, tmp_path: Path):
    clerk = make_client(tmp_path / "laptop", server.base, server.token("clerk"))
    clerk.pull()
    values = demo_returns(clerk, 2)
    a, b = sorted(values)
    bad = json.loads(json.dumps(values[b]))
    bad["teachers"][0]["value"] = -1
    path = tmp_path / "r.jsonl"
    path.write_text(
        json.dumps({"form": "annual_school_census", "form_version": 1, "year": server.year})
        + "\n"
        + json.dumps({"school": a, "values": values[a]})
        + "\n\n"
        + json.dumps({"school": "NOPE-1", "values": {}})
        + "\n"
        + json.dumps({"school": b, "values": bad})
        + "\n"
    )
    report = clerk.import_file(path)
    got = sorted((p.code, p.row, p.school) for p in report.problems)
    assert got == [("NEGATIVE_COUNT", 5, b), ("UNKNOWN_SCHOOL", 4, "NOPE-1")]
    assert clerk.outbox_size() == 0
    path.write_text(
        "\n".join(json.dumps({"school": k, "values": v}) for k, v in values.items()) + "\n"
    )
    assert clerk.import_file(path).ok and clerk.outbox_size() == 2
    clerk.close()


def test_a_refused_token_is_recorded_on_the_changes_and_shown(server, tmp_path: Path):
    import pytest

    from sync_client.http import ApiError

    clerk = make_client(tmp_path / "laptop", server.base, server.token("clerk"))
    clerk.pull()
    code = clerk.schools()[0]["code"]
    clerk.set_cells(code, {"teachers[sex=F]": 3})
    clerk.config["token"] = "revoked"
    clerk._reset_http()
    with pytest.raises(ApiError) as err:
        clerk.push()
    assert err.value.status == 401
    [row] = [r for r in clerk.status() if r["school"] == code]
    assert row["local"] == "pending" and "401" in row["last_error"]
    assert clerk.outbox_size() == 1
    clerk.close()
