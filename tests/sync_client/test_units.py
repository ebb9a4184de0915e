"""The client's parts on their own: retries and Retry-After, the store's upgrades, cells."""

import sqlite3
from pathlib import Path

import httpx
import pytest

from sync_client.checks import STANDARD_FORM_PATH, load_definition_file
from sync_client.http import ApiError, Http, RetryPolicy, Unreachable
from sync_client.store import _MIGRATIONS, SCHEMA_VERSION, Store, StoreTooNew
from sync_client.values import flatten, parse_key, unflatten


def http_with(answers: list[httpx.Response | Exception]) -> tuple[Http, list[float], list[str]]:
    waits: list[float] = []
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("content-encoding", ""))
        a = answers.pop(0)
        if isinstance(a, Exception):
            raise a
        return a

    http = Http(
        "http://server",
        "tok",
        policy=RetryPolicy(attempts=5, initial=0.01, max_wait=0.05),
        transport=httpx.MockTransport(handler),
        sleep=waits.append,
    )
    return http, waits, seen


def test_503_and_429_are_retried_honouring_retry_after():
    http, waits, _ = http_with(
        [
            httpx.Response(503, headers={"Retry-After": "3"}, json={"title": "busy"}),
            httpx.Response(429, headers={"Retry-After": "2"}, json={"title": "slow down"}),
            httpx.ConnectError("refused"),
            httpx.Response(200, json={"ok": True}),
        ]
    )
    assert http.get_json("/x") == {"ok": True}
    assert http.requests == 4
    assert waits[0] >= 3 and waits[1] >= 2 and waits[2] < 1


def test_other_4xx_are_final_and_not_retried():
    http, waits, _ = http_with([httpx.Response(403, json={"title": "Forbidden", "detail": "no"})])
    with pytest.raises(ApiError) as err:
        http.get_json("/x")
    assert err.value.status == 403 and err.value.problem["detail"] == "no"
    assert http.requests == 1 and waits == []


def test_transient_failures_give_up_after_the_policy():
    http, waits, _ = http_with([httpx.ReadTimeout("slow")] * 5)
    with pytest.raises(Unreachable):
        http.get_json("/x")
    assert http.requests == 5 and len(waits) == 4
    assert waits[0] >= 0.01 and all(w <= 0.05 for w in waits)  # grows from 0.01, capped


def test_push_bodies_are_gzip_and_identical_on_every_retry():
    bodies: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        if len(bodies) < 3:
            raise httpx.RemoteProtocolError("dropped")
        return httpx.Response(200, json={"results": []})

    http = Http(
        "http://server",
        "tok",
        policy=RetryPolicy(attempts=5, initial=0.0, max_wait=0.0),
        transport=httpx.MockTransport(handler),
        sleep=lambda _: None,
    )
    http.post_json_gzip("/push", b'{"items": []}')
    assert len(set(bodies)) == 1 and bodies[0][:2] == b"\x1f\x8b"


def test_an_old_store_upgrades_itself(tmp_path: Path):
    path = tmp_path / "store.db"
    db = sqlite3.connect(path)
    db.executescript(_MIGRATIONS[0] + "; PRAGMA user_version = 1;")
    db.execute(
        "INSERT INTO change (push_id, form, form_version, year, school, base_revision, body, "
        "source, created_at) VALUES ('id-1', 'f', 1, 2026, 'S', 0, '{}', 'test', 'now')"
    )
    db.commit()
    db.close()
    store = Store(path)
    assert store.version == SCHEMA_VERSION
    [row] = store.outbox()
    assert row["push_id"] == "id-1" and row["checked"] == "{}"
    assert store.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    store.close()


def test_a_store_from_a_newer_client_is_refused(tmp_path: Path):
    path = tmp_path / "store.db"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(StoreTooNew):
        Store(path)


def test_cells_flatten_and_come_back_in_the_forms_order():
    defn = load_definition_file(STANDARD_FORM_PATH)
    values = {
        "teachers": [{"sex": "M", "value": 2}, {"sex": "F", "value": 3}],
        "enrolment": [{"grade": "P1", "sex": "F", "age": 6, "value": 31}],
        "has_electricity": True,
    }
    flat = flatten(defn, values)
    assert flat == {
        "teachers[sex=M]": 2,
        "teachers[sex=F]": 3,
        "enrolment[grade=P1,sex=F,age=6]": 31,
        "has_electricity": True,
    }
    wire = unflatten(defn, flat)
    assert list(wire) == ["enrolment", "teachers", "has_electricity"]
    assert wire["teachers"] == [{"sex": "F", "value": 3}, {"sex": "M", "value": 2}]
    assert parse_key(defn, "enrolment[age=6, sex=F, grade=P1]") == ("enrolment", ["P1", "F", "6"])
    assert parse_key(defn, "enrolment[grade=P9,sex=F,age=6]") is None
    assert parse_key(defn, "seats") == ("seats", [])


def test_the_client_loads_no_server_code():
    import subprocess
    import sys

    script = (
        "import sys, sync_client.cli, sync_client.client, sync_client.excel\n"
        "print('\\n'.join(sys.modules))"
    )
    mods = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    server = ("fastapi", "starlette", "sqlmodel", "sqlalchemy", "uvicorn", "alembic")
    assert not [m for m in mods if m.split(".")[0] in server]
    assert not [
        m
        for m in mods
        if m.startswith("app.")
        and not m.startswith(("app.forms.checking", "app.i18n"))
        and m != "app.forms"
    ]


def test_the_language_comes_from_the_option_then_the_config_then_lang(tmp_path, monkeypatch):
    from sync_client import Client
    from sync_client.messages import pick_lang

    monkeypatch.delenv("EMIS_SYNC_LANG", raising=False)
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    assert pick_lang(None) == "fr" and pick_lang("en") == "en"
    monkeypatch.setenv("LANG", "C.UTF-8")
    assert pick_lang(None) == "en"
    c = Client.init(tmp_path / "h", "http://127.0.0.1:9", lang="fr")
    assert c.lang == "fr"
    c.close()
    again = Client(tmp_path / "h")  # from the config
    assert again.lang == "fr" and Client(tmp_path / "h", lang="en").lang == "en"
    with pytest.raises(Exception, match="Aucun formulaire"):
        again.form()
    again.close()
