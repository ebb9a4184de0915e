"""Real uvicorn servers for multi-process tests: start one on a database, wait for /ready, stop it
(SIGTERM, then SIGKILL) or kill it outright (SIGKILL of the whole process group, as a crash).

    with running_server(url, tmp_path, workers=2) as srv:
        headers = login(srv.base, "admin", password)
        httpx.post(srv.base + "/api/v1/sync/push", ...)

The server's output goes to a log file (never a pipe that could fill up and block it); its tail
is shown when it fails to start and is available as `srv.log_tail()`."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from app.core.edge import HTTP_PROTOCOLS

ROOT = Path(__file__).resolve().parents[1]
# A proper secret for every server the tests start (the server refuses to start without one).
TEST_SECRET_KEY = "tests-only-2f9c1e7a5b3d8064c1a9e7f35b2d4c6e8a0f1b3d"


def free_port() -> int:
    """A TCP port on the loopback that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """One uvicorn master process (and its workers) serving `base`."""

    base: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    workers: int
    env: dict[str, str] = field(repr=False, default_factory=dict)

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def _signal_group(self, sig: int) -> None:
        # The server was started in its own session: its process group holds the master and
        # every worker, and nothing else.
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)

    def kill(self) -> None:
        """SIGKILL the master and its workers at once (a crash: nothing is flushed)."""
        self._signal_group(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout: float = 15) -> None:
        """A graceful stop (SIGTERM); SIGKILL whatever is still running after `timeout`."""
        if self.alive():
            self.proc.terminate()
            with suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout)
        # Workers orphaned by a master that died are killed too.
        self._signal_group(signal.SIGKILL)
        if self.alive():
            self.proc.wait(10)


def wait_ready(base: str, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> bool:
    """True once GET /ready answers 200 (False after `timeout` s or if `proc` ended)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            if httpx.get(base + "/ready", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    return False


def start_server(
    database_url: str,
    data_dir: Path,
    *,
    workers: int = 1,
    env: Mapping[str, str] | None = None,
    app_root: Path = ROOT,
    ready_timeout: float = 60,
    log_level: str = "warning",
    extra_args: tuple[str, ...] = (),
    http: str = "httptools",
) -> Server:
    """Start `uvicorn app.asgi:app` on a free port of 127.0.0.1 against `database_url` (SQLite or
    PostgreSQL) and return once /ready answers 200. `env` overrides or adds EMIS_* (or any)
    variables; `app_root` runs another source tree (its cwd and PYTHONPATH). `http` picks the
    protocol, h11 or httptools, in the problem+json flavour `emis serve` runs
    (app/core/edge.py)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    full_env = {
        **os.environ,
        "EMIS_DATABASE_URL": database_url,
        "EMIS_LOG_LEVEL": "WARNING",
        "EMIS_LOG_JSON": "false",
        "EMIS_DATA_DIR": str(data_dir),
        "EMIS_SECRET_KEY": TEST_SECRET_KEY,
        "PYTHONPATH": str(app_root),
        **(env or {}),
    }
    log_path = data_dir / f"uvicorn-{port}.log"
    log = log_path.open("wb")
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "app.asgi:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        log_level,
        "--no-access-log",
        "--http",
        HTTP_PROTOCOLS[http],
        *extra_args,
    ]
    proc = subprocess.Popen(
        cmd,
        cwd=app_root,
        env=full_env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    server = Server(f"http://127.0.0.1:{port}", proc, log_path, workers, full_env)
    if not wait_ready(server.base, ready_timeout, proc):
        server.stop(5)
        raise RuntimeError(
            f"server did not become ready in {ready_timeout} s:\n{server.log_tail()}"
        )
    return server


@contextmanager
def running_server(database_url: str, data_dir: Path, **kwargs: object) -> Iterator[Server]:
    """`start_server` as a context manager: the server is stopped (or killed) on exit."""
    server = start_server(database_url, data_dir, **kwargs)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.stop()


def login(base: str, username: str, password: str) -> dict[str, str]:
    """Authorization headers for a user (password flow)."""
    resp = httpx.post(
        base + "/api/v1/auth/token",
        data={"username": username, "password": password},
        timeout=30,
    )
    resp.raise_for_status()
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}
