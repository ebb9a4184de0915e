"""A clerk's day against a real server: Excel round trip, a file with typed mistakes, two
laptops editing one school, pull with deletes and restarts, doctor, French."""

from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from sync_client import Client, ClientError
from sync_client.values import flatten
from tests.sync_client.conftest import make_client
from tests.sync_client.helpers import demo_returns
from tests.sync_client.workbook import fill


@pytest.fixture
def clerk(server: Any, tmp_path: Path) -> Client:
    c = make_client(tmp_path / "laptop", server.base, server.token("clerk"))
    c.pull()
    yield c
    c.close()


def test_excel_round_trip_the_server_stores_what_was_typed(server, clerk: Client, tmp_path):
    book = clerk.template(tmp_path / "census.xlsx")
    wb = load_workbook(book)
    assert {"Instructions", "enrolment", "teachers", "school", "_emis"} <= set(wb.sheetnames)
    assert wb["_emis"].sheet_state == "hidden"
    assert "Comment remplir" in str(wb["Instructions"]["B4"].value)
    schools = [s["code"] for s in clerk.schools()]
    assert [c.value for c in wb["teachers"]["A"][2:]] == sorted(schools)
    kinds = {dv.type for dv in wb["enrolment"].data_validations.dataValidation}
    assert kinds == {"whole"}

    typed = demo_returns(clerk)
    fill(book, clerk.form(), typed)
    report = clerk.import_file(book)
    assert report.ok, report.problems
    assert {r.school for r in report.returns} == set(schools)
    summary = clerk.push()
    assert summary.count("applied") == len(schools)
    defn = clerk.form()
    stored = server.stored()
    for code, values in typed.items():
        assert [r[0] for r in stored[code]] == [1]
        assert flatten(defn, stored[code][0][1]) == flatten(defn, values)
    # importing the same file again changes nothing and queues nothing
    again = clerk.import_file(book)
    assert again.ok and not any(r.changed for r in again.returns)
    assert clerk.outbox_size() == 0


def _mistakes_workbook(clerk: Client, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    book = clerk.template(tmp_path / "bad.xlsx")
    typed = demo_returns(clerk, 3)
    fill(book, clerk.form(), typed)
    a, b = sorted(typed)[:2]
    wb = load_workbook(book)
    enr = wb["enrolment"]
    row_a = next(r for r in range(3, enr.max_row + 1) if enr.cell(r, 1).value == a)
    enr.cell(row_a, 6).value = "12 pupils"  # text in a count
    tea = wb["teachers"]
    row_b = next(r for r in range(3, tea.max_row + 1) if tea.cell(r, 1).value == b)
    tea.cell(row_b, 3).value = -3  # a negative
    tea.insert_rows(row_b + 1)  # a blank row
    last = tea.max_row + 1
    tea.cell(last, 1).value = "DM-999999"  # a school that is not in the registry
    tea.cell(last, 2).value = "École Inconnue"
    tea.cell(last, 3).value = 4
    wb.save(book)
    names = {s["code"]: s["name"] for s in clerk.schools()}
    return book, {
        "a": a,
        "b": b,
        "row_a": row_a,
        "row_b": row_b,
        "last": last,
        "names": names,
    }


def test_typed_mistakes_give_exactly_the_expected_messages(clerk: Client, tmp_path):
    book, w = _mistakes_workbook(clerk, tmp_path)
    report = clerk.import_file(book)
    got = sorted((p.code, p.sheet, p.row, p.cell, p.school) for p in report.problems)
    assert got == sorted(
        [
            ("NOT_WHOLE", "enrolment", w["row_a"], f"F{w['row_a']}", w["a"]),
            ("NEGATIVE", "teachers", w["row_b"], f"C{w['row_b']}", w["b"]),
            ("UNKNOWN_SCHOOL", "teachers", w["last"], f"A{w['last']}", "DM-999999"),
        ]
    )
    by_code = {p.code: p for p in report.problems}
    assert "'12 pupils' is not a whole number" in by_code["NOT_WHOLE"].message
    assert by_code["NOT_WHOLE"].school_name == w["names"][w["a"]]
    assert "-3 is negative" in by_code["NEGATIVE"].message
    assert "Type a whole number (0 or more)" in by_code["NEGATIVE"].fix
    assert "DM-999999 is not in your registry" in by_code["UNKNOWN_SCHOOL"].message
    assert not report.returns and clerk.outbox_size() == 0  # nothing half-imported

    fr = Client(clerk.home, lang="fr")
    msgs = {p.code: p.message for p in fr.import_file(book).problems}
    assert "« 12 pupils » n'est pas un nombre entier" in msgs["NOT_WHOLE"]
    assert "n'est pas dans votre registre" in msgs["UNKNOWN_SCHOOL"]
    fr.close()


def test_a_closed_school_is_named_as_closed(server, clerk: Client, tmp_path):
    book = clerk.template(tmp_path / "census.xlsx")
    typed = demo_returns(clerk, 2)
    fill(book, clerk.form(), typed)
    closing = sorted(typed)[0]
    admin = {"Authorization": f"Bearer {server.token('admin')}"}
    school = httpx.get(f"{server.base}/api/v1/schools/{closing}", headers=admin).json()
    body = {k: v for k, v in school.items() if k != "code"} | {"status": "closed"}
    resp = httpx.put(f"{server.base}/api/v1/schools/{closing}", json=body, headers=admin)
    assert resp.status_code == 200, resp.text
    clerk.pull()
    problems = clerk.import_file(book).problems
    assert [(p.code, p.school) for p in problems] == [("CLOSED_SCHOOL", closing)]
    assert f"{closing} ({school['name']}) is closed in the registry" in problems[0].message
    with pytest.raises(ClientError, match="is closed in the registry"):
        clerk.set_cells(closing, {"seats": 3})


def test_two_laptops_same_school_same_base(server, tmp_path):
    token = server.token("clerk")
    one = make_client(tmp_path / "one", server.base, token)
    two = make_client(tmp_path / "two", server.base, token)
    one.pull()
    code = one.schools()[0]["code"]
    first = demo_returns(one, 1)[code]
    one.import_file(_json(tmp_path / "first.json", server.year, {code: first}))
    one.push()
    two.pull()
    assert two.view(code).base == 1
    one.set_cells(code, {"teachers[sex=F]": 7, "seats": 111})
    two.set_cells(code, {"teachers[sex=F]": 9, "teachers[sex=M]": 5})
    assert one.push().count("applied") == 1
    pushed = two.push()
    assert [r.status for r in pushed.results] == ["conflict"]
    [conflict] = two.conflicts()
    cells = {c["cell"]: (c["mine"], c["theirs"]) for c in conflict["cells"]}
    assert cells["teachers[sex=F]"] == (9, 7)
    assert cells["seats"][1] == 111
    assert conflict["server_revision"] == 2
    two.resolve(code, keep="mine", cells={"seats": "theirs"})
    assert two.push().count("applied") == 1
    assert two.conflicts() == []
    defn = one.form()
    stored = server.stored()[code]
    assert [r[0] for r in stored] == [1, 2, 3]
    final = flatten(defn, stored[-1][1])
    assert final["teachers[sex=F]"] == 9 and final["teachers[sex=M]"] == 5
    assert final["seats"] == 111
    one.pull()
    assert one.view(code).values == final and one.view(code).state == "synced"
    one.close()
    two.close()


def _json(path: Path, year: int, returns: dict[str, Any]) -> Path:
    from tests.sync_client.helpers import write_json

    return write_json(path, year, returns)


def test_an_edit_queues_behind_an_unacknowledged_change(server, clerk: Client):
    code = clerk.schools()[0]["code"]
    clerk.set_cells(code, {"teachers[sex=F]": 3, "enrolment[grade=P1,sex=F,age=6]": 30})
    clerk.set_cells(code, {"teachers[sex=F]": 4})
    queued = clerk.store.outbox()
    assert [r["base_revision"] for r in queued] == [0, 1]
    bodies = [r["body"] for r in queued]
    summary = clerk.push()
    assert [r.status for r in summary.results] == ["applied", "applied"]
    assert summary.batches == 2  # the second waited for the first's result
    assert [
        r["body"] for r in clerk.store.changes_of(queued[0]["form"], queued[0]["year"], code)
    ] == bodies
    assert [r[0] for r in server.stored()[code]] == [1, 2]


def test_pull_applies_deletes_and_restarts_after_410(server, clerk: Client):
    admin = {"Authorization": f"Bearer {server.token('admin')}"}
    code = clerk.schools()[-1]["code"]
    assert httpx.delete(f"{server.base}/api/v1/schools/{code}", headers=admin).status_code == 204
    clerk.pull()
    assert clerk.school(code) is None
    before = {s["code"] for s in clerk.schools()}
    with clerk.store.tx() as db:  # a cursor this server cannot honour, and a stale school
        clerk.store.set_meta(db, "cursor", "eyJlIjoibm9wZSIsInMiOjF9")
        db.execute("INSERT INTO ref (type, key, data) VALUES ('school', 'GONE-1', '{}')")
    summary = clerk.pull()
    assert summary.restarted
    assert {s["code"] for s in clerk.schools()} == before


def test_pull_never_overwrites_an_unpushed_change(server, clerk: Client, tmp_path):
    code = clerk.schools()[0]["code"]
    other = make_client(tmp_path / "other", server.base, server.token("clerk"))
    other.pull()
    other.set_cells(code, {"teachers[sex=F]": 2})
    other.push()
    clerk.set_cells(code, {"teachers[sex=F]": 8})
    summary = clerk.pull()
    assert summary.kept_local == [f"annual_school_census/{server.year}/{code}"]
    assert clerk.view(code).values["teachers[sex=F]"] == 8
    assert clerk.view(code).state == "pending"
    other.close()


def test_doctor_names_each_problem_and_its_fix(server, tmp_path):
    home = tmp_path / "d"
    c = Client(home)
    checks = c.doctor()
    assert not checks[-1].ok and "emis-sync init --server" in checks[-1].fix
    c.close()
    c = Client.init(home, "http://127.0.0.1:9")
    bad = [x for x in c.doctor() if not x.ok]
    assert bad[0].name == "server" and "cannot be reached" in bad[0].message
    c.close()
    c = make_client(home, server.base, server.token("clerk"))
    assert all(x.ok for x in c.doctor() if x.name != "data")
    c.config["token"] = "not-a-token"
    assert [x.name for x in c.doctor() if not x.ok] == ["token"]
    c.close()
    from datetime import UTC, datetime, timedelta

    late = make_client(
        home,
        server.base,
        server.token("clerk"),
        clock=lambda: datetime.now(UTC) - timedelta(hours=2),
    )
    [clock] = [x for x in late.doctor() if x.name == "clock"]
    assert not clock.ok and "120 minutes behind" in clock.message
    late.close()


def test_a_rejected_change_is_kept_and_shown(server, clerk: Client):
    from datetime import UTC, datetime, timedelta

    code = clerk.schools()[0]["code"]
    with pytest.raises(ClientError, match="not a whole number"):
        clerk.set_cells(code, {"teachers[sex=F]": "many"})
    admin = {"Authorization": f"Bearer {server.token('admin')}"}
    y = httpx.get(f"{server.base}/api/v1/school-years/{server.year}", headers=admin).json()
    clerk.set_cells(code, {"teachers[sex=F]": 3})
    body = {k: y[k] for k in ("label", "reference_date", "window_opens")} | {
        "window_closes": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "reopened_until": None,
    }
    assert (
        httpx.put(
            f"{server.base}/api/v1/school-years/{server.year}", json=body, headers=admin
        ).status_code
        == 200
    )
    summary = clerk.push()
    assert [r.status for r in summary.results] == ["rejected"]
    assert summary.results[0].errors[0]["code"] == "WINDOW_CLOSED"
    [row] = [r for r in clerk.status(server.year) if r["school"] == code]
    assert row["local"] == "rejected" and row["errors"][0]["code"] == "WINDOW_CLOSED"


def test_changes_queued_behind_a_conflict_wait_and_resolve_together(server, clerk, tmp_path):
    code = clerk.schools()[0]["code"]
    other = make_client(tmp_path / "other", server.base, server.token("clerk"))
    other.pull()
    other.set_cells(code, {"seats": 40})
    other.push()
    clerk.set_cells(code, {"seats": 50})
    # the second edit is made while the first is unacknowledged: it queues behind it
    clerk.set_cells(code, {"teachers[sex=M]": 2})
    summary = clerk.push()
    assert [r.status for r in summary.results] == ["conflict"]  # the second was never sent
    assert clerk.view(code).state == "conflict" and clerk.outbox_size() == 1
    [conflict] = clerk.conflicts()
    assert {c["cell"]: (c["mine"], c["theirs"]) for c in conflict["cells"]} == {
        "seats": (50, 40),
        "teachers[sex=M]": (2, None),
    }
    clerk.resolve(code, keep="mine")
    assert clerk.outbox_size() == 1 and clerk.store.outbox()[0]["base_revision"] == 1
    assert clerk.push().count("applied") == 1
    final = flatten(clerk.form(), server.stored()[code][-1][1])
    assert final == {"seats": 50, "teachers[sex=M]": 2}
    other.close()
