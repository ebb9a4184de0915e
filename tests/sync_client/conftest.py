"""Real uvicorn servers (SQLite or PostgreSQL, as the suite runs) for the sync client, a
fault-injecting TCP proxy to put between them, and ways to read what the server stored."""

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.core.edge import HTTP_PROTOCOLS
from sync_client import Client
from sync_client.http import RetryPolicy

ROOT = Path(__file__).resolve().parents[2]
FORM = "annual_school_census"
# The client fills the latest form version it holds; these tests are written for version 1's
# cells (teachers[sex=F], its sheets), so their servers hold version 1 only.
BIG = {"schools": 600, "seed": 7, "returns": False, "forms_up_to": 1}
# Fast retries for tests: the same code path, shorter waits.
FAST = RetryPolicy(attempts=40, initial=0.05, max_wait=1.0, total=120)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """One uvicorn process on one database; kill() is SIGKILL, start() brings it back."""

    url: str
    tmp: Path
    env_extra: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    # The demo build's passwords (drawn at random per database).
    passwords: dict[str, str] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {
            **os.environ,
            "EMIS_DATABASE_URL": self.url,
            "EMIS_LOG_LEVEL": "WARNING",
            "EMIS_DATA_DIR": str(self.tmp),
            **self.env_extra,
        }
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.asgi:app",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                "--http",
                HTTP_PROTOCOLS["httptools"],
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(self.tmp / f"server-{self.port}.log", "ab"),  # noqa: SIM115
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base + "/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.kill()
        pytest.fail("server did not become ready")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def token(self, user: str = "clerk") -> str:
        resp = httpx.post(
            self.base + "/api/v1/auth/token",
            data={"username": user, "password": self.passwords[user]},
        )
        assert resp.status_code == 200, resp.text
        return str(resp.json()["access_token"])

    def stored(self) -> dict[str, list[tuple[int, dict[str, Any], str | None]]]:
        """Every revision on the server, per school code: (revision, values, push id)."""
        from app.core.db import make_engine

        engine = make_engine(self.url)
        out: dict[str, list[tuple[int, dict[str, Any], str | None]]] = {}
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    'SELECT s.code, rv.revision, rv."values", rv.push_id FROM return_revision rv '
                    "JOIN census_return r ON r.id = rv.return_id "
                    "JOIN school s ON s.id = r.school_id WHERE r.year = :y ORDER BY rv.revision"
                ),
                {"y": self.year},
            )
            for code, rev, values, pid in rows:
                if isinstance(values, str):
                    import json

                    values = json.loads(values)
                out.setdefault(code, []).append((rev, values, pid))
        engine.dispose()
        return out

    @property
    def year(self) -> int:
        from app.demo.generator import demo_years

        return demo_years(__import__("datetime").date.today())[1]


def _build(url: str, spec: dict[str, Any]) -> Any:
    from app.core.db import make_engine, make_sessionmaker
    from app.demo.generator import DemoSpec, build_demo

    engine = make_engine(url)
    try:
        return build_demo(make_sessionmaker(engine), DemoSpec(**spec))
    finally:
        engine.dispose()


def _server(
    db_factory: Any, tmp: Path, name: str, spec: dict[str, Any], **env: str
) -> Iterator[Server]:
    from tests.conftest import passwords

    url = db_factory.copy(db_factory.template(name, lambda u: _build(u, spec)))
    s = Server(url, tmp, env_extra=env, passwords=passwords(db_factory.built[name]))
    s.start()
    yield s
    s.stop()
    db_factory.drop(url)


@pytest.fixture
def server(db_factory: Any, tmp_path: Path) -> Iterator[Server]:
    """The small demo country (120 schools; the clerk's district has 9)."""
    from tests.conftest import DEMO

    yield from _server(db_factory, tmp_path, "demo_v1", {**DEMO, "forms_up_to": 1})


@pytest.fixture
def big_server(db_factory: Any, tmp_path: Path) -> Iterator[Server]:
    """600 schools, small batches (so a push of hundreds of returns takes many requests)."""
    yield from _server(db_factory, tmp_path, "big_v1", BIG, EMIS_SYNC_MAX_ITEMS="25")


@pytest.fixture
def wide_server(db_factory: Any, tmp_path: Path) -> Iterator[Server]:
    """600 schools with the server's default push limits."""
    yield from _server(db_factory, tmp_path, "big_v1", BIG)


def make_client(
    home: Path, base: str, token: str, *, lang: str = "en", policy: RetryPolicy = FAST, **kw: Any
) -> Client:
    c = Client.init(home, base, lang=lang, policy=policy, **kw)
    c.set_token(token)
    return c


# ---------------------------------------------------------------- the fault proxy

MODES = ("before", "upload", "after", "mid_response")


def _read_request(conn: socket.socket) -> bytes:
    """One whole HTTP request (headers and Content-Length body) from the client."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


class FaultProxy:
    """A TCP proxy that faults a share of connections at a random point and counts bytes:
    `before` (the request never reaches the server), `upload` (cut in the middle of the
    request), `after` (the server answered, the answer is dropped) and `mid_response` (half of
    the answer, then the connection drops)."""

    def __init__(self, target_port: int, rate: float = 0.0, seed: int = 1) -> None:
        self.target = ("127.0.0.1", target_port)
        self.rate = rate
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.up = 0
        self.down = 0
        self.connections = 0
        self.requests: list[bytes] = []
        self.faults: Counter[str] = Counter()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = int(self.sock.getsockname()[1])
        self.closed = False
        self.on_request: Any = None  # called with each request line seen in pass-through
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        with self.lock:
            self.up = self.down = self.connections = 0
            self.requests.clear()
            self.faults.clear()

    def close(self) -> None:
        self.closed = True
        self.sock.close()

    def _accept(self) -> None:
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
                mode = self.rng.choice(MODES) if self.rng.random() < self.rate else None
                cut = self.rng.random()
            threading.Thread(target=self._handle, args=(conn, mode, cut), daemon=True).start()

    def _count(self, up: int = 0, down: int = 0) -> None:
        with self.lock:
            self.up += up
            self.down += down

    def _handle(self, conn: socket.socket, mode: str | None, cut: float) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=60)
        except OSError:
            conn.close()
            return
        try:
            if mode is None:
                self._pipe(conn, upstream)
                return
            request = _read_request(conn)
            self._count(up=len(request))
            with self.lock:
                self.faults[mode] += 1
                self.requests.append(request.split(b"\r\n", 1)[0])
            if mode == "before":
                return
            if mode == "upload":
                upstream.sendall(request[: max(1, int(len(request) * (0.2 + 0.6 * cut)))])
                time.sleep(0.05)
                return
            upstream.sendall(request)
            answer = upstream.recv(65536)  # the server has committed and starts answering
            if mode == "after" or not answer:
                return
            half = answer[: max(1, len(answer) // 2)]
            conn.sendall(half)
            self._count(down=len(half))
        except OSError:
            pass
        finally:
            for s in (conn, upstream):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()

    def _pipe(self, conn: socket.socket, upstream: socket.socket) -> None:
        def one_way(src: socket.socket, dst: socket.socket, up: bool) -> None:
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    if up:
                        with self.lock:
                            if data[:5] in (b"GET /", b"POST ", b"PUT /"):
                                self.requests.append(data.split(b"\r\n", 1)[0])
                    if up and self.on_request and data[:5] in (b"GET /", b"POST ", b"PUT /"):
                        dst.sendall(data)
                        self._count(up=len(data))
                        self.on_request(data.split(b"\r\n", 1)[0])
                        continue
                    self._count(up=len(data)) if up else self._count(down=len(data))
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                with contextlib.suppress(OSError):
                    dst.shutdown(socket.SHUT_WR)

        t = threading.Thread(target=one_way, args=(upstream, conn, False), daemon=True)
        t.start()
        one_way(conn, upstream, True)
        t.join(60)
        conn.close()
        upstream.close()


@pytest.fixture
def proxy_factory() -> Iterator[Any]:
    made: list[FaultProxy] = []

    def make(port: int, rate: float = 0.0, seed: int = 1) -> FaultProxy:
        p = FaultProxy(port, rate, seed)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()
