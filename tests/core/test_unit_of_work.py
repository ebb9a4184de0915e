"""One unit of work per use case, and it alone commits: every write route and every CLI command
that writes commits exactly once through it; `commit()` is written nowhere else in app/; work
written and never committed is a failure, not a silent rollback."""

import csv
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from app.cli import app as cli
from app.core import db as core_db
from app.core import uow as core_uow
from app.core.config import get_settings
from app.core.uow import UncommittedWork, UnitOfWork, unit_of_work
from tests.auth.test_matrix import app_routes
from tests.sync.helpers import FORM, item
from tests.web.helpers import form_csrf, web_login

APP_DIR = Path(__file__).resolve().parents[2] / "app"
WRITES = {"post", "put", "delete", "patch"}


@pytest.fixture
def commits() -> Iterator[list[UnitOfWork]]:
    """Every unit of work that really committed, in this process."""
    seen: list[UnitOfWork] = []
    core_uow.commit_listeners.append(seen.append)
    yield seen
    core_uow.commit_listeners.remove(seen.append)


def _year_body(demo, h, year: int) -> dict[str, Any]:
    y = demo.client.get(f"/api/v1/school-years/{year}", headers=h["admin"]).json()
    return {
        "label": y["label"] + " (renamed)",
        "reference_date": y["reference_date"],
        "window_opens": y["window_opens"],
        "window_closes": y["window_closes"],
        "reopened_until": y["reopened_until"],
    }


def _level_body(demo, h) -> dict[str, Any]:
    lv = demo.client.get("/api/v1/education-levels", headers=h["admin"]).json()[0]
    return {**{k: v for k, v in lv.items() if k != "code"}, "name": lv["name"] + " (renamed)"}


def _web_logout(d: Any) -> Any:
    """Sign out (signed in by _prepare): the form's token comes from a page read before."""
    return d.client.post(
        "/web/logout", data={"csrf": d.client.cookies.get("test_csrf", "")}, follow_redirects=False
    )


# One successful call per write operation (the API's documented ones and the dashboard's
# forms): (method, path) → request maker.
HTTP_CASES: dict[tuple[str, str], Callable[[Any, dict[str, Any]], Any]] = {
    ("post", "/web/login"): lambda d, h: web_login(d.client, "analyst", d.users["analyst"]),
    ("post", "/web/logout"): lambda d, h: _web_logout(d),
    ("post", "/api/v1/auth/token"): lambda d, h: d.client.post(
        "/api/v1/auth/token", data={"username": "clerk", "password": d.users["clerk"]}
    ),
    ("put", "/api/v1/admin-units/{code}"): lambda d, h: d.client.put(
        "/api/v1/admin-units/DM-R01-D999",
        headers=h["admin"],
        json={"name": "New district", "level_name": "district", "parent": "DM-R01"},
    ),
    ("put", "/api/v1/schools/{code}"): lambda d, h: d.client.put(
        "/api/v1/schools/DM-NEW-1",
        headers=h["admin"],
        json={"name": "New school", "unit": "DM-R01-D001", "ownership": "public"},
    ),
    ("delete", "/api/v1/schools/{code}"): lambda d, h: d.client.delete(
        "/api/v1/schools/DM-NEW-1", headers=h["admin"]
    ),
    ("put", "/api/v1/school-years/{year}"): lambda d, h: d.client.put(
        f"/api/v1/school-years/{d.result.years[1]}",
        headers=h["admin"],
        json=_year_body(d, h, d.result.years[1]),
    ),
    ("put", "/api/v1/education-levels/{code}"): lambda d, h: d.client.put(
        "/api/v1/education-levels/pre_primary", headers=h["admin"], json=_level_body(d, h)
    ),
    ("put", "/api/v1/population"): lambda d, h: d.client.put(
        "/api/v1/population",
        headers=h["admin"],
        json={"rows": [{"unit": "DM-R01-D001", "year": 2030, "age": 6, "sex": "F", "value": 7}]},
    ),
    ("post", "/api/v1/sync/push"): lambda d, h: d.client.post(
        "/api/v1/sync/push",
        headers=h["clerk"],
        json={"device_id": "laptop-uow", "items": [item(_clerk_school(d, h), d.result.years[1])]},
    ),
    ("post", "/api/v1/returns/{form}/{year}/{school}/approve"): lambda d, h: d.client.post(
        f"/api/v1/returns/{FORM}/{d.result.years[1]}/{_clerk_school(d, h)}/approve",
        headers=h["admin"],
        json={},
    ),
    ("post", "/api/v1/returns/{form}/{year}/{school}/send-back"): lambda d, h: d.client.post(
        f"/api/v1/returns/{FORM}/{d.result.years[1]}/{_clerk_school(d, h)}/send-back",
        headers=h["admin"],
        json={"comment": "Check P2."},
    ),
    ("post", "/api/v1/returns/{form}/{year}/{school}/reopen"): lambda d, h: d.client.post(
        f"/api/v1/returns/{FORM}/{d.result.years[1]}/{_clerk_school(d, h)}/reopen",
        headers=h["admin"],
        json={"comment": "Reopened."},
    ),
    ("put", "/api/v1/excuses/{form}/{year}/{school}"): lambda d, h: d.client.put(
        f"/api/v1/excuses/{FORM}/{d.result.years[0]}/{_clerk_school(d, h)}",
        headers=h["admin"],
        json={"reason": "Closed for works."},
    ),
    ("delete", "/api/v1/excuses/{form}/{year}/{school}"): lambda d, h: d.client.delete(
        f"/api/v1/excuses/{FORM}/{d.result.years[0]}/{_clerk_school(d, h)}", headers=h["admin"]
    ),
    ("post", "/api/v1/units/{code}/approve"): lambda d, h: d.client.post(
        f"/api/v1/units/DM-R01-D001/approve?form={FORM}&year={d.result.years[0]}",
        headers=h["admin"],
        json={},
    ),
    ("post", "/api/v1/releases"): lambda d, h: d.client.post(
        "/api/v1/releases", headers=h["admin"], json={"year": d.result.years[1]}
    ),
    ("post", "/api/v1/webhooks"): lambda d, h: d.client.post(
        "/api/v1/webhooks",
        headers=h["admin"],
        json={"url": "http://127.0.0.1:9/hook", "secret": "s" * 20},
    ),
    ("delete", "/api/v1/webhooks/{hook_id}"): lambda d, h: d.client.delete(
        "/api/v1/webhooks/1", headers=h["admin"]
    ),
    ("post", "/api/v1/webhooks/deliveries/{delivery_id}/redeliver"): lambda d, h: d.client.post(
        "/api/v1/webhooks/deliveries/1/redeliver", headers=h["admin"]
    ),
}

# What a case needs first (not counted): a return, a one-rung ladder the admin stands on, …
REVIEWS = "/api/v1/returns/{form}/{year}/{school}/"


def _prepare(demo, h, case) -> None:
    from app.review.service import set_ladder

    _method, path = case
    if path == "/web/logout":
        web_login(demo.client, "analyst", demo.users["analyst"])
        page = demo.client.get("/web/units/DM")
        demo.client.cookies.set("test_csrf", form_csrf(page.text))
    if path.startswith(REVIEWS) or path in ("/api/v1/units/{code}/approve", "/api/v1/releases"):
        with unit_of_work(demo.db) as uow:
            set_ladder(uow, [0])  # the admin's national area is then the only rung
    if path.startswith(REVIEWS) or path == "/api/v1/releases":
        HTTP_CASES[("post", "/api/v1/sync/push")](demo, h)
    if path.endswith("/reopen") or path == "/api/v1/releases":
        HTTP_CASES[("post", REVIEWS + "approve")](demo, h)
    if path.startswith("/api/v1/webhooks/"):
        HTTP_CASES[("post", "/api/v1/webhooks")](demo, h)
    if path.startswith("/api/v1/webhooks/deliveries/"):
        _prepare(demo, h, ("post", "/api/v1/releases"))
        HTTP_CASES[("post", "/api/v1/releases")](demo, h)
    if case == ("delete", "/api/v1/excuses/{form}/{year}/{school}"):
        HTTP_CASES[("put", "/api/v1/excuses/{form}/{year}/{school}")](demo, h)
    if path == "/api/v1/units/{code}/approve":
        admin = h["admin"]
        page = demo.client.get("/api/v1/schools?unit=DM-R01-D001&limit=1000", headers=admin)
        for school in page.json()["items"]:
            resp = demo.client.put(
                f"/api/v1/excuses/{FORM}/{demo.result.years[0]}/{school['code']}",
                headers=admin,
                json={"reason": "Not open that year."},
            )
            assert resp.status_code == 204, resp.text


def _clerk_school(demo, h) -> str:
    page = demo.client.get("/api/v1/schools?limit=1", headers=h["clerk"]).json()
    return str(page["items"][0]["code"])


def test_every_write_route_is_covered_here(demo):
    """A new write route must join HTTP_CASES (and so prove it commits once)."""
    spec = demo.client.get("/openapi.json").json()
    documented = {(m, p) for p, ops in spec["paths"].items() for m in ops if m in WRITES}
    pages = {
        (m.lower(), p) for m, p, _ in app_routes(demo.client.app, pages=True) if m.lower() in WRITES
    }
    assert pages, "the dashboard's forms are write routes too"
    assert documented | pages == set(HTTP_CASES)


@pytest.mark.parametrize("case", list(HTTP_CASES), ids=str)
def test_each_write_route_commits_exactly_once(demo, commits, case):
    h = {"admin": demo.auth("admin"), "clerk": demo.auth("clerk")}  # logins commit: before
    if case == ("delete", "/api/v1/schools/{code}"):
        HTTP_CASES[("put", "/api/v1/schools/{code}")](demo, h)
    _prepare(demo, h, case)
    call = HTTP_CASES[case]
    audited = _audit_count(demo.url)
    commits.clear()
    resp = call(demo, h)
    assert resp.status_code < 300 or resp.status_code == 303, resp.text  # a form: see other
    assert len(commits) == 1, f"{case} committed {len(commits)} times"
    assert _audit_count(demo.url) > audited, f"{case} left no audit event"


def _audit_count(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        value = conn.execute(text("SELECT count(*) FROM audit_event")).scalar_one()
    engine.dispose()
    return int(value)


def test_a_read_route_commits_nothing(demo, commits):
    headers = demo.auth("clerk")
    commits.clear()
    assert demo.client.get("/api/v1/schools", headers=headers).status_code == 200
    pull = demo.client.get("/api/v1/sync/pull?limit=5", headers={**headers, "X-Device-Id": "l9"})
    assert pull.status_code == 200
    assert commits == []  # a pull notes no device; a fresh token's first use writes nothing


# ---------------------------------------------------------------- the CLI

runner = CliRunner()
CLI_READS = {"db current", "token list", "indicators check", "audit"}
# Not use cases of the app's data: Alembic runs its own transactions; serve runs the server.
CLI_OTHERS = {"db upgrade", "serve"}
# A loop of small units of work, one per claim and per attempt (tests/review/test_webhooks.py).
CLI_OTHERS |= {"worker"}
# One unit of work per batch of 200 rows, each through the push use case (whose commit is
# counted by the HTTP cases above); its file-level behaviour: tests/indicators/.
CLI_OTHERS |= {"returns import"}
# A read that needs arguments: test_the_report_command_commits_nothing below.
CLI_OTHERS |= {"report diagnosis"}


def _commands(group: Any, prefix: str = "") -> set[str]:
    out: set[str] = set()
    for name, cmd in group.commands.items():
        full = f"{prefix}{name}"
        if hasattr(cmd, "commands"):
            out |= _commands(cmd, full + " ")
        else:
            out.add(full)
    return out


def _dhis2(tmp: Path) -> Path:
    path = tmp / "dhis2.csv"
    path.write_text(
        "kind,source,dhis2_id,category_option_combo\n"
        "data_set,default,pBOMPrpg1QX,\n"
        "org_unit,DM,ImspTQPwCqd,\n"
        "value,GER|primary|,s46m5MS0hxu,Prlt0C1RF0s\n",
        encoding="utf-8",
    )
    return path


def _units_csv(tmp: Path) -> Path:
    path = tmp / "units.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["code", "name", "level_name", "parent"])
        w.writerow(["DM-R01-D900", "Imported district", "district", "DM-R01"])
    return path


def _form_next(tmp: Path) -> Path:
    """The last shipped standard form under the next, unshipped version number."""
    from app.forms.checking import STANDARD_FORM_PATHS

    raw = STANDARD_FORM_PATHS[-1].read_text(encoding="utf-8")
    path = tmp / "form_next.yaml"
    shipped = len(STANDARD_FORM_PATHS)
    path.write_text(
        re.sub(rf"(?m)^version: {shipped}$", f"version: {shipped + 1}", raw), encoding="utf-8"
    )
    assert path.read_text(encoding="utf-8") != raw
    return path


def _token_id(url: str) -> int:
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.connect() as conn:
        value = conn.execute(text("SELECT max(id) FROM api_token")).scalar_one()
    engine.dispose()
    return int(value)


CLI_CASES: dict[str, Callable[[Path, str], tuple[list[str], str | None]]] = {
    "registry import": lambda tmp, _url: (
        ["registry", "import", "units", str(_units_csv(tmp))],
        None,
    ),
    "user create": lambda _tmp, _url: (
        [
            "user",
            "create",
            "--username",
            f"u{uuid.uuid4().hex[:6]}",
            "--role",
            "clerk",
            "--unit",
            "DM-R01-D001",
            "--password-stdin",
        ],
        "a-long-password\n",
    ),
    "token create": lambda _tmp, _url: (
        ["token", "create", "--user", "clerk", "--label", "lap"],
        None,
    ),
    "token revoke": lambda _tmp, url: (["token", "revoke", str(_token_id(url))], None),
    "forms load": lambda tmp, _url: (["forms", "load", str(_form_next(tmp))], None),
    "sync compact": lambda _tmp, _url: (["sync", "compact", "--keep-days", "0"], None),
    "indicators rebuild": lambda _tmp, _url: (["indicators", "rebuild"], None),
    "review ladder": lambda _tmp, _url: (["review", "ladder", "--levels", "2,1,0"], None),
    "publish dhis2-mapping": lambda tmp, _url: (
        ["publish", "dhis2-mapping", str(_dhis2(tmp))],
        None,
    ),
}


@pytest.fixture
def emis(demo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("EMIS_DATABASE_URL", demo.url)
    monkeypatch.setenv("EMIS_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield lambda args, stdin=None: runner.invoke(cli, args, input=stdin)
    get_settings.cache_clear()


def test_every_cli_command_is_covered_here():
    group = typer.main.get_command(cli)
    assert _commands(group) == set(CLI_CASES) | CLI_READS | CLI_OTHERS | {
        "demo",
        "forms load-standard",
    }


@pytest.mark.parametrize("name", sorted(CLI_CASES))
def test_each_cli_command_that_writes_commits_exactly_once(demo, emis, commits, tmp_path, name):
    if name == "token revoke":
        assert emis(["token", "create", "--user", "clerk", "--label", "x"]).exit_code == 0
    args, stdin = CLI_CASES[name](tmp_path, demo.url)
    audited = _audit_count(demo.url)
    commits.clear()
    result = emis(args, stdin)
    assert result.exit_code == 0, result.output
    assert len(commits) == 1, f"emis {name} committed {len(commits)} times"
    assert _audit_count(demo.url) > audited, f"emis {name} left no audit event"


@pytest.mark.parametrize("name", sorted(CLI_READS))
def test_cli_reads_commit_nothing(emis, commits, name):
    result = emis(name.split())
    assert result.exit_code == 0, result.output
    assert commits == []


def test_the_demo_command_commits_its_registry_once(db_url, monkeypatch, tmp_path, commits):
    monkeypatch.setenv("EMIS_DATABASE_URL", db_url)
    monkeypatch.setenv("EMIS_DATA_DIR", str(tmp_path))  # where it keeps the users' passwords
    get_settings.cache_clear()
    result = runner.invoke(cli, ["demo", "--schools", "20", "--no-returns", "--no-serve"])
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert len(commits) == 1


def test_loading_the_standard_forms_commits_once_then_nothing(db_url, monkeypatch, commits):
    """`emis forms load-standard` on an empty database loads v1 then v2 in one commit; again,
    it finds both identical and writes nothing (the demo database already holds them)."""
    monkeypatch.setenv("EMIS_DATABASE_URL", db_url)
    get_settings.cache_clear()
    first = runner.invoke(cli, ["forms", "load-standard"])
    assert first.exit_code == 0, first.output
    assert len(commits) == 1
    assert first.output.index("Loaded annual_school_census v1") < first.output.index(
        "Loaded annual_school_census v2"
    )
    commits.clear()
    again = runner.invoke(cli, ["forms", "load-standard"])
    get_settings.cache_clear()
    assert again.exit_code == 0, again.output
    assert commits == [] and again.output.count("Already loaded (identical)") == 2


# ---------------------------------------------------------------- one place, and no forgetting


def test_commit_is_called_only_in_app_core():
    found = [
        f"{p.relative_to(APP_DIR)}:{n}"
        for p in APP_DIR.rglob("*.py")
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if ".commit()" in line and p.parent.name != "core"
    ]
    assert found == []


def test_work_written_and_not_committed_is_an_error(demo):
    uow = UnitOfWork(demo.db)
    uow.session.execute(text("UPDATE sync_counter SET value = value"))
    with pytest.raises(UncommittedWork):
        uow.close()


def test_a_session_that_writes_and_never_commits_is_caught(demo):
    """Outside the unit of work, a forgotten commit would roll back silently: it is recorded,
    and the suite's autouse fixture fails any test where it happens."""
    with demo.db.writer() as session:
        session.execute(text("UPDATE sync_counter SET value = value"))
    assert core_db.lost_writes, "a rolled-back write went unnoticed"
    core_db.lost_writes.clear()


def test_changes_are_written_last_inside_the_commit(demo):
    """Changes noted by a service land in the change log only with the commit."""
    from app.core.changelog import Change, last_sequence, note_changes

    with demo.db.reader() as s:
        before = last_sequence(s)
    uow = UnitOfWork(demo.db)
    note_changes(uow.session, [Change("school_year", "2099")])
    assert last_sequence(uow.session) == before  # nothing written yet
    uow.commit()
    uow.close()
    with demo.db.reader() as s:
        assert last_sequence(s) == before + 1


def test_the_report_command_commits_nothing(demo, emis, commits, tmp_path):
    out = tmp_path / "r.pdf"
    commits.clear()
    year = str(demo.result.years[1])
    result = emis(["report", "diagnosis", "--unit", "DM-R01", "--year", year, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF")
    assert commits == []
