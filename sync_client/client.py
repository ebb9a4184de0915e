"""`Client`: every operation of the district client as a Python API (the CLI is a thin layer).

from sync_client import Client
c = Client.init("/path/home", server="https://emis.example.org")
c.login("clerk", "secret")          # the password is sent once and never stored
c.pull()                            # reference data, forms, the school's returns
c.template("census.xlsx")           # Excel for the clerk's schools
report = c.import_file("census.xlsx")
c.push()                            # the outbox, exactly once per change
c.conflicts(); c.resolve("DM-000001", keep="mine")
c.status()
"""

import json
import os
import socket
import sqlite3
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from sync_client.checks import CompiledForm, FormDefinition, compile_form, parse_definition
from sync_client.http import ApiError, Http, RetryPolicy, Unreachable, gzip_body
from sync_client.messages import pick_lang, t
from sync_client.store import Store
from sync_client.values import Flat, diff, flatten, parse_key, unflatten

CONFIG = "config.json"
STORE = "store.db"
FINAL = ("applied", "duplicate", "conflict", "rejected", "superseded")
Progress = Callable[[int, int], None]


def default_home() -> Path:
    """EMIS_SYNC_HOME, else the user's data directory (XDG on Linux, AppData on Windows)."""
    env = os.environ.get("EMIS_SYNC_HOME")
    if env:
        return Path(env)
    if os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif os.uname().sysname == "Darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "emis-sync"


def now_utc() -> datetime:
    return datetime.now(UTC)


def _iso(d: datetime) -> str:
    return d.astimezone(UTC).isoformat(timespec="seconds")


class _Rollback(Exception):
    """Undo an import's transaction: the file has a problem."""


class ClientError(Exception):
    """Something the clerk must fix; `message` is in the clerk's language, `fix` says how."""

    def __init__(self, message: str, fix: str = "", code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.code = code


@dataclass
class Check:
    """One line of `doctor`."""

    name: str
    ok: bool
    message: str
    fix: str = ""


@dataclass
class PullSummary:
    changes: int = 0
    deleted: int = 0
    pages: int = 0
    restarted: bool = False
    kept_local: list[str] = field(default_factory=list)


@dataclass
class ItemResult:
    school: str
    year: int
    push_id: str
    status: str
    revision: int | None
    return_status: str | None
    errors: list[dict[str, Any]]
    warnings: list[dict[str, Any]]


@dataclass
class PushSummary:
    sent: int = 0
    batches: int = 0
    results: list[ItemResult] = field(default_factory=list)
    failed: str | None = None

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)


@dataclass
class Problem:
    """One problem in an imported file, where it is and how to fix it."""

    code: str
    message: str
    fix: str
    sheet: str = ""
    row: int | None = None
    cell: str = ""
    school: str = ""
    school_name: str = ""

    def where(self, lang: str) -> str:
        parts = []
        if self.sheet:
            parts.append(t("where_sheet", lang, sheet=self.sheet))
        if self.row is not None:
            parts.append(t("where_row", lang, row=self.row))
        if self.cell:
            parts.append(t("where_cell", lang, cell=self.cell))
        return ", ".join(parts)


@dataclass
class ImportedReturn:
    school: str
    school_name: str
    year: int
    status: str
    changed: bool
    errors: list[dict[str, Any]]
    warnings: list[dict[str, Any]]


@dataclass
class ImportReport:
    file: str
    form: str
    form_version: int
    year: int
    problems: list[Problem] = field(default_factory=list)
    returns: list[ImportedReturn] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class ReturnView:
    """One return as this laptop sees it: local values (an unpushed change wins), the server's
    copy, and the revision the next change builds on."""

    form: str
    form_version: int
    year: int
    school: str
    state: str  # empty | synced | pending | pushed | conflict | rejected
    values: Flat
    base: int
    server: dict[str, Any] | None
    latest: sqlite3.Row | None


class Client:
    """The district sync client over one home folder (config.json and store.db)."""

    def __init__(
        self,
        home: Path | str | None = None,
        *,
        lang: str | None = None,
        policy: RetryPolicy | None = None,
        clock: Callable[[], datetime] = now_utc,
        timeout: float = 60.0,
        keepalive: bool = True,
    ) -> None:
        self.keepalive = keepalive
        self.home = Path(home) if home else default_home()
        self.config = self._read_config()
        self.lang = pick_lang(lang or self.config.get("lang"))
        self.policy = policy
        self.clock = clock
        self.timeout = timeout
        self.store = Store(self.home / STORE)
        self._forms: dict[tuple[str, int], tuple[FormDefinition, CompiledForm]] = {}
        self._http: Http | None = None
        self.on_retry: Callable[[str], None] | None = None

    # ---------------------------------------------------------------- set-up

    @classmethod
    def init(
        cls,
        home: Path | str | None,
        server: str,
        *,
        device_id: str | None = None,
        lang: str | None = None,
        **kwargs: Any,
    ) -> "Client":
        """Create (or re-point) a home at a server; keeps the device id and store if present."""
        path = Path(home) if home else default_home()
        path.mkdir(parents=True, exist_ok=True)
        cfg_path = path / CONFIG
        config: dict[str, Any] = (
            json.loads(cfg_path.read_text("utf-8")) if cfg_path.exists() else {}
        )
        if config.get("server") and config["server"].rstrip("/") != server.rstrip("/"):
            config.pop("token", None)
        config["server"] = server.rstrip("/")
        config.setdefault(
            "device_id",
            device_id or f"emis-sync-{socket.gethostname()[:40]}-{uuid.uuid4().hex[:8]}",
        )
        if lang:
            config["lang"] = lang
        _write_json(cfg_path, config)
        return cls(path, lang=lang, **kwargs)

    def _read_config(self) -> dict[str, Any]:
        p = self.home / CONFIG
        if not p.exists():
            return {}
        data = json.loads(p.read_text("utf-8"))
        return data if isinstance(data, dict) else {}

    def _save_config(self) -> None:
        _write_json(self.home / CONFIG, self.config)

    @property
    def server(self) -> str:
        s = self.config.get("server")
        if not s:
            raise ClientError(t("not_initialised", self.lang), t("fix_init", self.lang))
        return str(s)

    @property
    def device_id(self) -> str:
        return str(self.config.get("device_id") or "emis-sync")

    def http(self) -> Http:
        if self._http is None:
            self._http = Http(
                self.server,
                self.config.get("token"),
                lang=self.lang,
                device_id=self.device_id,
                policy=self.policy,
                timeout=self.timeout,
                on_retry=self.on_retry,
                keepalive=self.keepalive,
            )
        return self._http

    def _reset_http(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def close(self) -> None:
        self._reset_http()
        self.store.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def login(self, username: str, password: str) -> dict[str, Any]:
        """Exchange a username and password for a token; only the token is kept."""
        self._reset_http()
        http = Http(self.server, None, lang=self.lang, policy=self.policy, timeout=self.timeout)
        try:
            resp = http.request(
                "POST", "/api/v1/auth/token", data={"username": username, "password": password}
            )
        except ApiError as exc:
            if exc.status == 401:
                raise ClientError(t("login_failed", self.lang), t("fix_login", self.lang)) from exc
            raise
        except Unreachable as exc:
            raise ClientError(
                t("unreachable", self.lang, server=self.server, error=str(exc)),
                t("fix_unreachable", self.lang),
            ) from exc
        finally:
            http.close()
        return self.set_token(resp.json()["access_token"])

    def set_token(self, token: str) -> dict[str, Any]:
        """Keep a token (a device token from an administrator, or one from login)."""
        self.config["token"] = token
        self._save_config()
        self._reset_http()
        me: dict[str, Any] = self.http().get_json("/api/v1/auth/me", retry=False)
        self.config["user"] = me
        self._save_config()
        return me

    def logout(self) -> None:
        self.config.pop("token", None)
        self._save_config()
        self._reset_http()

    def set_lang(self, lang: str) -> None:
        self.lang = pick_lang(lang)
        self.config["lang"] = self.lang
        self._save_config()
        self._reset_http()

    def doctor(self) -> list[Check]:
        """What is wrong with the set-up, and how to fix it."""
        lang = self.lang
        out: list[Check] = [
            Check(
                "store", True, t("doc_store", lang, path=str(self.store.path), v=self.store.version)
            )
        ]
        if not self.config.get("server"):
            out.append(Check("server", False, t("not_initialised", lang), t("fix_init", lang)))
            return out
        probe = Http(self.server, None, lang=lang, policy=RetryPolicy(attempts=1), timeout=10)
        try:
            probe.request("GET", "/health", retry=False)
            out.append(Check("server", True, t("doc_reachable", lang, server=self.server)))
        except (Unreachable, ApiError) as exc:
            out.append(
                Check(
                    "server",
                    False,
                    t("unreachable", lang, server=self.server, error=str(exc)),
                    t("fix_unreachable", lang),
                )
            )
            return out
        finally:
            probe.close()
        if not self.config.get("token"):
            out.append(Check("token", False, t("no_token", lang), t("fix_login", lang)))
            return out
        http = Http(
            self.server,
            self.config["token"],
            lang=lang,
            policy=RetryPolicy(attempts=1),
            timeout=10,
        )
        try:
            me = http.get_json("/api/v1/auth/me", retry=False)
            out.append(
                Check("token", True, t("doc_token", lang, user=me["username"], unit=me["unit"]))
            )
            sent = self.clock()
            cfg = http.get_json("/api/v1/sync/config", retry=False)
            server_time = datetime.fromisoformat(cfg["server_time"].replace("Z", "+00:00"))
            skew = (sent - server_time).total_seconds()
            if abs(skew) > 300:
                out.append(
                    Check(
                        "clock",
                        False,
                        t(
                            "clock_ahead" if skew > 0 else "clock_behind",
                            lang,
                            minutes=round(abs(skew) / 60),
                        ),
                        t("fix_clock", lang, server_time=_iso(server_time)),
                    )
                )
            else:
                out.append(Check("clock", True, t("doc_clock", lang)))
        except ApiError as exc:
            if exc.status == 401:
                out.append(Check("token", False, t("token_revoked", lang), t("fix_login", lang)))
            else:
                out.append(Check("token", False, str(exc), t("fix_unreachable", lang)))
            return out
        finally:
            http.close()
        if not self.store.refs("form"):
            out.append(Check("data", False, t("no_forms", lang), t("fix_pull", lang)))
        counts = self.store.count_by_state()
        stuck = self.store.db.execute(
            "SELECT count(*) FROM change WHERE state = 'queued' AND last_error IS NOT NULL"
        ).fetchone()[0]
        if stuck:
            out.append(Check("outbox", False, t("doc_stuck", lang, n=stuck), t("fix_status", lang)))
        elif counts.get("conflict"):
            out.append(
                Check(
                    "outbox",
                    False,
                    t("doc_conflicts", lang, n=counts["conflict"]),
                    t("fix_conflicts", lang),
                )
            )
        else:
            out.append(Check("outbox", True, t("doc_outbox", lang, n=counts.get("queued", 0))))
        return out

    # ---------------------------------------------------------------- reference data

    def schools(self) -> list[dict[str, Any]]:
        return self.store.refs("school")

    def school(self, code: str) -> dict[str, Any] | None:
        return self.store.ref("school", code)

    def years(self) -> list[dict[str, Any]]:
        return self.store.refs("school_year")

    def current_year(self) -> int:
        """The open census year (the latest one open now), else the latest year known."""
        years = self.years()
        if not years:
            raise ClientError(t("no_years", self.lang), t("fix_pull", self.lang))
        now = self.clock()
        open_ = [y for y in years if _is_open(y, now)]
        return int(max(open_ or years, key=lambda y: int(y["year"]))["year"])

    def form(self, code: str | None = None, version: int | None = None) -> FormDefinition:
        return self._form(code, version)[0]

    def _form(
        self, code: str | None = None, version: int | None = None
    ) -> tuple[FormDefinition, CompiledForm]:
        if code is None or version is None:
            forms = self.store.refs("form")
            if code is not None:
                forms = [f for f in forms if f["code"] == code]
            if not forms:
                raise ClientError(t("no_forms", self.lang), t("fix_pull", self.lang))
            if code is None and len({f["code"] for f in forms}) > 1:
                codes = ", ".join(sorted({f["code"] for f in forms}))
                raise ClientError(t("which_form", self.lang, codes=codes), t("fix_form", self.lang))
            latest = max(forms, key=lambda f: int(f["version"]))
            code, version = str(latest["code"]), int(latest["version"])
        key = (code, version)
        if key not in self._forms:
            data = self.store.ref("form", f"{code}/{version}")
            if data is None:
                raise ClientError(
                    t("unknown_form", self.lang, form=code, version=version),
                    t("fix_pull", self.lang),
                )
            defn = parse_definition(data)
            self._forms[key] = (defn, compile_form(defn))
        return self._forms[key]

    # ---------------------------------------------------------------- pull

    def pull(self, progress: Progress | None = None) -> PullSummary:
        """Follow the server's change sequence from the saved cursor, one page per transaction
        (an interrupted pull resumes where it stopped); after 410, start again from nothing and
        drop what the full pull did not bring back."""
        summary = PullSummary()
        http = self.http()
        while True:
            cursor = self.store.get_meta("cursor")
            gen = int(self.store.get_meta("gen", "0") or 0)
            params: dict[str, Any] = {"limit": int(self.config.get("pull_limit", 1000))}
            if cursor:
                params["cursor"] = cursor
            try:
                page = http.get_json("/api/v1/sync/pull", params=params)
            except ApiError as exc:
                if exc.status == 410 and cursor:
                    with self.store.tx() as db:
                        self.store.set_meta(db, "cursor", None)
                        self.store.set_meta(db, "gen", str(gen + 1))
                        self.store.set_meta(db, "full_pull", str(gen + 1))
                    summary.restarted = True
                    continue
                raise
            summary.pages += 1
            with self.store.tx() as db:
                for ch in page["changes"]:
                    summary.changes += 1
                    if ch["op"] == "delete" or ch.get("data") is None:
                        db.execute(
                            "DELETE FROM ref WHERE type = ? AND key = ?", (ch["type"], ch["key"])
                        )
                        summary.deleted += 1
                        continue
                    db.execute(
                        "INSERT INTO ref (type, key, data, gen) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT (type, key) DO UPDATE SET data = excluded.data, "
                        "gen = excluded.gen",
                        (ch["type"], ch["key"], orjson.dumps(ch["data"]).decode(), gen),
                    )
                    if ch["type"] == "return" and self._has_unpushed(db, ch["key"]):
                        summary.kept_local.append(ch["key"])
                self.store.set_meta(db, "cursor", page["cursor"])
                full = self.store.get_meta("full_pull")
                if not page["has_more"] and full is not None:
                    # The full pull after a 410 is complete: what it did not bring is gone.
                    n = db.execute("DELETE FROM ref WHERE gen < ?", (int(full),)).rowcount
                    summary.deleted += n
                    self.store.set_meta(db, "full_pull", None)
                self.store.set_meta(db, "last_pull", _iso(self.clock()))
            if progress:
                progress(summary.changes, summary.changes + (1 if page["has_more"] else 0))
            if not page["has_more"]:
                return summary

    @staticmethod
    def _has_unpushed(db: sqlite3.Connection, key: str) -> bool:
        form, year, school = key.split("/", 2)
        row = db.execute(
            "SELECT 1 FROM change WHERE form = ? AND year = ? AND school = ? "
            "AND state IN ('queued', 'conflict', 'rejected') LIMIT 1",
            (form, int(year), school),
        ).fetchone()
        return row is not None

    # ---------------------------------------------------------------- local returns

    def view(self, school: str, year: int | None = None, form: str | None = None) -> ReturnView:
        """One return as this laptop sees it."""
        year = year or self.current_year()
        defn, _ = self._form(form)
        return self._view(defn, year, school)

    def _view(self, defn: FormDefinition, year: int, school: str) -> ReturnView:
        server = self.store.ref("return", f"{defn.code}/{year}/{school}")
        server_rev = int(server["revision"]) if server else 0
        changes = [
            c for c in self.store.changes_of(defn.code, year, school) if c["state"] != "superseded"
        ]
        latest = changes[-1] if changes else None
        server_flat = flatten(defn, server["values"]) if server else {}
        if latest is None:
            return ReturnView(
                defn.code,
                defn.version,
                year,
                school,
                "synced" if server else "empty",
                server_flat,
                server_rev,
                server,
                None,
            )
        mine = flatten(defn, orjson.loads(latest["body"])["values"])
        state = latest["state"]
        first_conflict = next((c for c in changes if c["state"] == "conflict"), None)
        if first_conflict is not None:
            # changes queued behind a conflict wait for its resolution
            return ReturnView(
                defn.code,
                defn.version,
                year,
                school,
                "conflict",
                mine,
                int(first_conflict["base_revision"]),
                server,
                latest,
            )
        if state == "queued":
            return ReturnView(
                defn.code,
                defn.version,
                year,
                school,
                "pending",
                mine,
                int(latest["base_revision"]) + 1,
                server,
                latest,
            )
        if state in ("applied", "duplicate"):
            result = json.loads(latest["result"] or "{}")
            rev = int(result.get("revision") or 0)
            if server_rev >= rev:
                return ReturnView(
                    defn.code,
                    defn.version,
                    year,
                    school,
                    "synced",
                    server_flat,
                    server_rev,
                    server,
                    latest,
                )
            return ReturnView(
                defn.code, defn.version, year, school, "pushed", mine, rev, server, latest
            )
        if state == "conflict":
            return ReturnView(
                defn.code,
                defn.version,
                year,
                school,
                "conflict",
                mine,
                int(latest["base_revision"]),
                server,
                latest,
            )
        # rejected: never stored; the next change builds on what the rejected one built on
        return ReturnView(
            defn.code,
            defn.version,
            year,
            school,
            "rejected",
            mine,
            int(latest["base_revision"]),
            server,
            latest,
        )

    def _previous(self, defn: FormDefinition, year: int, school: str) -> dict[str, Any] | None:
        prev = self.store.ref("return", f"{defn.code}/{year - 1}/{school}")
        return prev["values"] if prev else None

    def _check(self, defn: FormDefinition, year: int, school: str, values: dict[str, Any]) -> Any:
        _, compiled = self._form(defn.code, defn.version)
        return compiled.check(values, self._previous(defn, year, school), self.lang)

    def _new_change(
        self,
        db: sqlite3.Connection,
        defn: FormDefinition,
        year: int,
        school: str,
        values: dict[str, Any],
        result: Any,
        source: str,
        base: int,
    ) -> str:
        """Queue one change: its push id and exact body are made here, once."""
        push_id = str(uuid.uuid4())
        item = {
            "id": push_id,
            "form": defn.code,
            "form_version": defn.version,
            "year": year,
            "school": school,
            "base_revision": base,
            "values": values,
            "captured_at": _iso(self.clock()),
        }
        checked = {
            "status": result.status,
            "errors": [f.as_dict() for f in result.errors],
            "warnings": [f.as_dict() for f in result.warnings],
        }
        db.execute(
            "INSERT INTO change (push_id, form, form_version, year, school, base_revision, body, "
            "source, created_at, checked) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                push_id,
                defn.code,
                defn.version,
                year,
                school,
                base,
                orjson.dumps(item).decode(),
                source,
                _iso(self.clock()),
                json.dumps(checked, ensure_ascii=False),
            ),
        )
        return push_id

    def _school_or_fail(self, code: str, *, open_only: bool = False) -> dict[str, Any]:
        s = self.school(code)
        if s is None:
            raise ClientError(
                t("unknown_school", self.lang, school=code), t("fix_unknown_school", self.lang)
            )
        if open_only and s.get("status", "open") != "open":
            raise ClientError(
                t("closed_school", self.lang, school=code, name=s.get("name", "")),
                t("fix_closed_school", self.lang),
            )
        return s

    def show(self, school: str, year: int | None = None) -> ReturnView:
        self._school_or_fail(school)
        return self.view(school, year)

    def set_cells(self, school: str, cells: dict[str, Any], year: int | None = None) -> ReturnView:
        """Correct cells of one return without Excel (None clears a cell); one new change."""
        s = self._school_or_fail(school, open_only=True)
        year = year or self.current_year()
        defn, _ = self._form()
        with self.store.tx() as db:
            v = self._view(defn, year, school)
            if v.state == "conflict":
                raise ClientError(
                    t("in_conflict", self.lang, school=school, name=s["name"]),
                    t("fix_conflicts", self.lang),
                )
            flat = dict(v.values)
            for key, value in cells.items():
                parsed = parse_key(defn, key)
                if parsed is None:
                    raise ClientError(
                        t("unknown_cell", self.lang, cell=key), t("fix_cell", self.lang)
                    )
                canon = _canon(defn, parsed)
                el = defn.element(parsed[0])
                assert el is not None
                typed = _typed_value(el.type, value, self.lang)
                if typed is None:
                    flat.pop(canon, None)
                else:
                    flat[canon] = typed
            if flat != v.values:
                values = unflatten(defn, flat)
                result = self._check(defn, year, school, values)
                self._new_change(db, defn, year, school, values, result, "edit", v.base)
        return self.view(school, year)

    # ---------------------------------------------------------------- push

    def push(self, progress: Progress | None = None) -> PushSummary:
        """Send the outbox in as few batches as the server's limits allow, gzip; retries keep
        each item's id and exact body. Each result is kept as it arrives."""
        summary = PushSummary()
        total = self.outbox_size()
        if not total:
            return summary
        http = self.http()
        try:
            cfg = http.get_json("/api/v1/sync/config")
        except (ApiError, Unreachable) as exc:
            with self.store.tx() as db:
                db.execute("UPDATE change SET last_error = ? WHERE state = 'queued'", (str(exc),))
            summary.failed = str(exc)
            raise
        max_items, max_bytes = int(cfg["max_items"]), int(cfg["max_bytes"])
        head = f'{{"device_id":{orjson.dumps(self.device_id).decode()},"items":['.encode()
        room = max_bytes - len(head) - 2

        def pack(rows: list[sqlite3.Row]) -> bytes:
            return gzip_body(head + b",".join(r["body"].encode() for r in rows) + b"]}")

        # While one batch is with the server, the next is chosen (other returns only) and
        # compressed in a helper thread; it is marked sent only just before it leaves.
        with ThreadPoolExecutor(1) as helper:
            batch = self._next_batch(max_items, room)
            packed = helper.submit(pack, batch) if batch else None
            while batch and packed is not None:
                with self.store.tx() as db:
                    db.executemany(
                        "UPDATE change SET sent = 1, attempts = attempts + 1 WHERE seq = ?",
                        [(r["seq"],) for r in batch],
                    )
                body = packed.result()
                flying = {(r["form"], int(r["year"]), r["school"]) for r in batch}
                following = self._next_batch(max_items, room, flying)
                packed_next = helper.submit(pack, following) if following else None
                try:
                    answer = http.post_gzipped("/api/v1/sync/push", body)
                except (ApiError, Unreachable) as exc:
                    with self.store.tx() as db:
                        db.executemany(
                            "UPDATE change SET last_error = ? WHERE seq = ?",
                            [(str(exc), r["seq"]) for r in batch],
                        )
                    summary.failed = str(exc)
                    raise
                summary.batches += 1
                summary.sent += len(batch)
                self._record_results(batch, answer["results"], summary)
                if progress:
                    progress(summary.sent, total)
                if not following:
                    # the next choice may now include changes that waited for this batch
                    following = self._next_batch(max_items, room)
                    packed_next = helper.submit(pack, following) if following else None
                batch, packed = following, packed_next
        return summary

    def _next_batch(
        self,
        max_items: int,
        max_bytes: int,
        flying: set[tuple[str, int, str]] | None = None,
    ) -> list[sqlite3.Row]:
        """The oldest sendable changes: per return only the first unacknowledged one (the next
        waits for its result, so a change never lands on a revision it did not see), and none
        of a return whose change is with the server now."""
        blocked: set[tuple[str, int, str]] = {
            (r[0], int(r[1]), r[2])
            for r in self.store.db.execute(
                "SELECT DISTINCT form, year, school FROM change WHERE state = 'conflict'"
            )
        } | (flying or set())
        batch: list[sqlite3.Row] = []
        size = 0
        # read lazily: only as many bodies as one batch holds are ever in memory
        for row in self.store.db.execute(
            "SELECT * FROM change WHERE state = 'queued' ORDER BY seq"
        ):
            key = (row["form"], int(row["year"]), row["school"])
            if key in blocked:
                continue
            blocked.add(key)
            n = len(row["body"].encode()) + 1
            if batch and (len(batch) >= max_items or size + n > max_bytes):
                break
            batch.append(row)
            size += n
        return batch

    def _record_results(
        self, batch: list[sqlite3.Row], results: list[dict[str, Any]], summary: PushSummary
    ) -> None:
        by_id = {str(r.get("id") or "").lower(): r for r in results}
        now = _iso(self.clock())
        with self.store.tx() as db:
            for row in batch:
                res = by_id.get(row["push_id"].lower())
                if res is None:
                    continue
                status = res["status"]
                db.execute(
                    "UPDATE change SET state = ?, result = ?, done_at = ?, last_error = NULL "
                    "WHERE seq = ?",
                    (status, json.dumps(res, ensure_ascii=False), now, row["seq"]),
                )
                if status == "rejected":
                    self._rebase_after_rejection(db, row)
                if status in ("applied", "duplicate") and res.get("revision"):
                    self._note_applied(db, row, res)
                current = res.get("current")
                if status == "conflict" and isinstance(current, dict):
                    pulled = self.store.ref(
                        "return", f"{row['form']}/{row['year']}/{row['school']}"
                    )
                    if pulled is None or int(pulled["revision"]) < int(current["revision"]):
                        self._store_server_copy(db, current)
                summary.results.append(
                    ItemResult(
                        row["school"],
                        int(row["year"]),
                        row["push_id"],
                        status,
                        res.get("revision"),
                        res.get("return_status"),
                        res.get("errors") or [],
                        res.get("warnings") or [],
                    )
                )

    def _note_applied(self, db: sqlite3.Connection, row: sqlite3.Row, res: dict[str, Any]) -> None:
        """Keep the server copy up to date with what it just stored (a pull confirms it)."""
        key = f"{row['form']}/{row['year']}/{row['school']}"
        cur = self.store.ref("return", key)
        rev = int(res["revision"])
        if cur is not None and int(cur.get("revision", 0)) >= rev:
            return
        item = orjson.loads(row["body"])
        data = {
            **(cur or {}),
            "form": row["form"],
            "form_version": int(row["form_version"]),
            "year": int(row["year"]),
            "school": row["school"],
            "revision": rev,
            "status": res.get("return_status"),
            "values": item["values"],
            "errors": res.get("errors") or [],
            "warnings": res.get("warnings") or [],
            "updated_at": _iso(self.clock()),
            "updated_by": (self.config.get("user") or {}).get("username"),
        }
        gen = int(self.store.get_meta("gen", "0") or 0)
        db.execute(
            "INSERT INTO ref (type, key, data, gen) VALUES ('return', ?, ?, ?) "
            "ON CONFLICT (type, key) DO UPDATE SET data = excluded.data",
            (key, orjson.dumps(data).decode(), gen),
        )

    def _rebase_after_rejection(self, db: sqlite3.Connection, row: sqlite3.Row) -> None:
        """Changes queued behind a rejected one (never sent: only the first unacknowledged
        change of a return is ever sent) now build on what the rejected one built on."""
        later = db.execute(
            "SELECT seq, body, sent FROM change WHERE form = ? AND year = ? AND school = ? "
            "AND seq > ? AND state = 'queued' ORDER BY seq",
            (row["form"], row["year"], row["school"], row["seq"]),
        ).fetchall()
        base = int(row["base_revision"])
        for r in later:
            if r["sent"]:
                break  # may have reached the server: never rewritten
            item = orjson.loads(r["body"])
            item["base_revision"] = base
            db.execute(
                "UPDATE change SET base_revision = ?, body = ? WHERE seq = ?",
                (base, orjson.dumps(item).decode(), r["seq"]),
            )
            base += 1

    # ---------------------------------------------------------------- conflicts

    def conflicts(self) -> list[dict[str, Any]]:
        """Each return in conflict: mine against the server's current revision, cell by cell."""
        out = []
        for key in self.store.db.execute(
            "SELECT DISTINCT form, year, school FROM change WHERE state = 'conflict' ORDER BY school"
        ).fetchall():
            defn, _ = self._form(key[0])
            out.append(self._conflict(defn, int(key[1]), key[2]))
        return out

    def _conflict(self, defn: FormDefinition, year: int, school: str) -> dict[str, Any]:
        changes = [
            c for c in self.store.changes_of(defn.code, year, school) if c["state"] != "superseded"
        ]
        first = next(c for c in changes if c["state"] == "conflict")
        mine = flatten(defn, orjson.loads(changes[-1]["body"])["values"])
        current = self._theirs(defn, year, school, first)
        theirs = flatten(defn, current["values"]) if current else {}
        order = _order(defn)
        cells = sorted(diff(mine, theirs), key=lambda d: order.get(d[0], (1 << 30,)))
        s = self.school(school) or {}
        return {
            "school": school,
            "school_name": s.get("name", ""),
            "year": year,
            "form": defn.code,
            "base_revision": int(first["base_revision"]),
            "server_revision": int(current["revision"]) if current else 0,
            "server_by": (current or {}).get("updated_by"),
            "errors": json.loads(first["result"] or "{}").get("errors") or [],
            "cells": [{"cell": k, "mine": m, "theirs": th} for k, m, th in cells],
        }

    def _theirs(
        self, defn: FormDefinition, year: int, school: str, first: sqlite3.Row
    ) -> dict[str, Any] | None:
        """The server's current return: from the conflict answer or a later pull, the newer."""
        result = json.loads(first["result"] or "{}")
        current = result.get("current")
        pulled = self.store.ref("return", f"{defn.code}/{year}/{school}")
        if pulled is not None and (
            current is None or int(pulled["revision"]) >= int(current["revision"])
        ):
            return pulled
        return current if isinstance(current, dict) else None

    def resolve(
        self,
        school: str,
        keep: str = "mine",
        cells: dict[str, str] | None = None,
        year: int | None = None,
    ) -> ReturnView:
        """Make the next revision from the chosen values (mine or theirs, per return or per cell)
        on top of the server's current revision."""
        if keep not in ("mine", "theirs"):
            raise ClientError(t("bad_keep", self.lang, keep=keep), t("fix_keep", self.lang))
        year = year or self.current_year()
        defn, _ = self._form()
        with self.store.tx() as db:
            changes = [
                c
                for c in self.store.changes_of(defn.code, year, school)
                if c["state"] != "superseded"
            ]
            first = next((c for c in changes if c["state"] == "conflict"), None)
            if first is None:
                raise ClientError(t("no_conflict", self.lang, school=school), "")
            mine = flatten(defn, orjson.loads(changes[-1]["body"])["values"])
            current = self._theirs(defn, year, school, first)
            theirs = flatten(defn, current["values"]) if current else {}
            chosen = dict(mine if keep == "mine" else theirs)
            for key, side in (cells or {}).items():
                parsed = parse_key(defn, key)
                if parsed is None or side not in ("mine", "theirs"):
                    raise ClientError(
                        t("unknown_cell", self.lang, cell=f"{key}={side}"), t("fix_cell", self.lang)
                    )
                canon = _canon(defn, parsed)
                source = mine if side == "mine" else theirs
                if canon in source:
                    chosen[canon] = source[canon]
                else:
                    chosen.pop(canon, None)
            db.executemany(
                "UPDATE change SET state = 'superseded' WHERE seq = ?",
                [(c["seq"],) for c in changes if c["state"] in ("conflict", "queued")],
            )
            if current is not None and not self.store.ref("return", f"{defn.code}/{year}/{school}"):
                self._store_server_copy(db, current)
            base = int(current["revision"]) if current else 0
            if chosen != theirs:
                values = unflatten(defn, chosen)
                result = self._check(defn, year, school, values)
                self._new_change(db, defn, year, school, values, result, "resolve", base)
        return self.view(school, year)

    def _store_server_copy(self, db: sqlite3.Connection, current: dict[str, Any]) -> None:
        key = f"{current['form']}/{current['year']}/{current['school']}"
        gen = int(self.store.get_meta("gen", "0") or 0)
        db.execute(
            "INSERT INTO ref (type, key, data, gen) VALUES ('return', ?, ?, ?) "
            "ON CONFLICT (type, key) DO UPDATE SET data = excluded.data",
            (key, orjson.dumps(current).decode(), gen),
        )

    # ---------------------------------------------------------------- status

    def status(self, year: int | None = None) -> list[dict[str, Any]]:
        """Per school: local state, last push, server status, findings and reviewer comments."""
        year = year or self.current_year()
        defn, _compiled = self._form()
        out = []
        for s in self.schools():
            v = self._view(defn, year, s["code"])
            if v.latest is not None and v.state in ("pending", "pushed", "conflict", "rejected"):
                checked = json.loads(v.latest["checked"] or "{}")
                errors, warnings = checked.get("errors", []), checked.get("warnings", [])
            elif v.server is not None:
                errors, warnings = v.server.get("errors", []), v.server.get("warnings", [])
            else:
                errors, warnings = [], []
            pushes = [c for c in self.store.changes_of(defn.code, year, s["code"]) if c["done_at"]]
            last = pushes[-1] if pushes else None
            rejected = (
                json.loads(v.latest["result"] or "{}") if v.state == "rejected" and v.latest else {}
            )
            out.append(
                {
                    "school": s["code"],
                    "name": s["name"],
                    "school_status": s.get("status", "open"),
                    "year": year,
                    "local": v.state,
                    "last_push": last["done_at"] if last else None,
                    "last_push_result": last["state"] if last else None,
                    "last_error": v.latest["last_error"] if v.latest is not None else None,
                    "server_status": (v.server or {}).get("status"),
                    "server_revision": (v.server or {}).get("revision"),
                    "errors": rejected.get("errors") or errors,
                    "warnings": warnings,
                    "comments": (v.server or {}).get("comments", []),
                }
            )
        return out

    # ---------------------------------------------------------------- files

    def template(self, path: Path | str, year: int | None = None) -> Path:
        """Write the Excel workbook for this clerk's schools (see sync_client.excel)."""
        from sync_client.excel import write_template

        year = year or self.current_year()
        defn, _ = self._form()
        schools = [s for s in self.schools() if s.get("status", "open") == "open"]
        write_template(Path(path), defn, year, schools)
        return Path(path)

    def import_file(self, path: Path | str, year: int | None = None) -> ImportReport:
        """Read a filled xlsx, csv, json or jsonl file; check every return; store all of them
        as changes in one transaction, or nothing when the file has a problem. Returns are
        checked and written one by one inside that transaction (a large file is never held in
        memory twice)."""
        from sync_client.excel import read_file

        defn, _ = self._form()
        year_ = year or self.current_year()
        parsed = read_file(Path(path), defn, year_, self.lang, self.school)
        report = ImportReport(str(path), defn.code, defn.version, parsed.year or year_)
        if parsed.form and (parsed.form, parsed.form_version) != (defn.code, defn.version):
            try:
                defn, _ = self._form(parsed.form, parsed.form_version)
                report.form, report.form_version = defn.code, defn.version
            except ClientError as exc:
                report.problems.append(Problem("UNKNOWN_FORM", exc.message, exc.fix))
                return report
            # The file names another version than the latest (a v1 file once v2 is loaded):
            # its cells are read again against the form they were filled for.
            parsed = read_file(Path(path), defn, year_, self.lang, self.school)
        year_ = report.year
        source = f"import:{Path(path).name}"
        try:
            with self.store.tx() as db:
                for school, flat in parsed.items():
                    self._import_one(db, defn, year_, school, flat, parsed, report, source)
                report.problems[:0] = parsed.problems
                if report.problems:
                    raise _Rollback
        except _Rollback:
            report.returns = []
            report.problems.sort(key=lambda p: (p.school, p.sheet, p.row or 0, p.cell))
        return report

    def _import_one(
        self,
        db: sqlite3.Connection,
        defn: FormDefinition,
        year: int,
        school: str,
        flat: Flat,
        parsed: Any,
        report: ImportReport,
        source: str,
    ) -> None:
        s = self.school(school) or {}
        values = unflatten(defn, flat)
        result = self._check(defn, year, school, values)
        for f in result.structure_errors:
            sheet, row, cell = parsed.locate(school, f.path)
            report.problems.append(
                Problem(
                    f.code,
                    str(f.message),
                    t("fix_structure", self.lang),
                    sheet,
                    row,
                    cell,
                    school,
                    s.get("name", ""),
                )
            )
        if result.structure_errors or report.problems or parsed.problems:
            return  # nothing will be stored: only look for more problems
        v = self._view(defn, year, school)
        if v.state == "conflict":
            report.problems.append(
                Problem(
                    "IN_CONFLICT",
                    t("in_conflict", self.lang, school=school, name=s.get("name", "")),
                    t("fix_conflicts", self.lang),
                    school=school,
                    school_name=s.get("name", ""),
                )
            )
            return
        changed = flat != v.values
        if changed:
            self._new_change(db, defn, year, school, values, result, source, v.base)
        report.returns.append(
            ImportedReturn(
                school,
                s.get("name", ""),
                year,
                result.status,
                changed,
                [f.as_dict() for f in result.errors],
                [f.as_dict() for f in result.warnings],
            )
        )

    # ---------------------------------------------------------------- sync

    def sync(self, progress: Progress | None = None) -> tuple[PushSummary, PullSummary]:
        """Push, then pull."""
        pushed = self.push(progress)
        pulled = self.pull()
        return pushed, pulled

    def outbox_size(self) -> int:
        """Changes not yet acknowledged by the server."""
        return int(
            self.store.db.execute("SELECT count(*) FROM change WHERE state = 'queued'").fetchone()[
                0
            ]
        )


def _order(defn: FormDefinition) -> dict[str, tuple[int, ...]]:
    """Sort keys for flat cells in the form's order."""
    out: dict[str, tuple[int, ...]] = {}
    import itertools

    for i, el in enumerate(defn.elements):
        if not el.dimensions:
            out[el.code] = (i,)
            continue
        opts = [defn.categories[d].options for d in el.dimensions]
        for combo in itertools.product(*[range(len(o)) for o in opts]):
            key = (
                el.code
                + "["
                + ",".join(
                    f"{d}={opts[j][c]}"
                    for j, (d, c) in enumerate(zip(el.dimensions, combo, strict=True))
                )
                + "]"
            )
            out[key] = (i, *combo)
    return out


def _canon(defn: FormDefinition, parsed: tuple[str, list[str]]) -> str:
    el = defn.element(parsed[0])
    assert el is not None
    from sync_client.values import cell_key

    return cell_key(el.code, el.dimensions, parsed[1])


def _typed_value(kind: str, value: Any, lang: str) -> Any:
    """A value typed on the command line, as the form's type wants it (None: clear the cell)."""
    if value is None or (isinstance(value, str) and value.strip() in ("", "-")):
        return None
    if kind == "count":
        text = str(value).strip()
        if not text.lstrip("-").isdigit():
            raise ClientError(t("not_whole", lang, value=text), t("fix_whole", lang))
        n = int(text)
        if n < 0:
            raise ClientError(t("negative", lang, value=text), t("fix_whole", lang))
        return n
    if kind == "boolean":
        b = _boolean(value)
        if b is None:
            raise ClientError(t("not_yes_no", lang, value=value), t("fix_yes_no", lang))
        return b
    return str(value).strip()


def _boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("1", "yes", "y", "oui", "o", "true", "vrai"):
        return True
    if text in ("0", "no", "n", "non", "false", "faux"):
        return False
    return None


def _is_open(y: dict[str, Any], now: datetime) -> bool:
    def ts(v: Any) -> datetime | None:
        return datetime.fromisoformat(str(v).replace("Z", "+00:00")) if v else None

    opens, closes, reopened = (
        ts(y.get("window_opens")),
        ts(y.get("window_closes")),
        ts(y.get("reopened_until")),
    )
    if opens and closes and opens <= now <= closes:
        return True
    return bool(reopened and now <= reopened)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Write a small file atomically (a kill leaves the old or the new one, never half)."""
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, ensure_ascii=False)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


__all__ = [
    "Check",
    "Client",
    "ClientError",
    "ImportReport",
    "ImportedReturn",
    "Problem",
    "PullSummary",
    "PushSummary",
    "ReturnView",
    "asdict",
]
