"""What the HTTP server answers before (and at the door of) the app: problem+json with a type
naming the refusal, never uvicorn's plain "Invalid HTTP request received.". Raw sockets against
real servers: `emis serve` itself (httptools) and uvicorn's h11 protocol as the tests run it."""

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli.serve import HTTP_PROTOCOL
from app.core.edge import HTTP_PROTOCOLS
from app.core.errors import PROBLEM_BASE
from tests.servers import ROOT, TEST_SECRET_KEY, Server, free_port, start_server, wait_ready

SECURITY = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def emis_serve(database_url: str, data_dir: Path, **env: str) -> Server:
    """`emis serve` in its own process group, as an operator starts it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    full_env = {
        **os.environ,
        "EMIS_DATABASE_URL": database_url,
        "EMIS_DATA_DIR": str(data_dir),
        "EMIS_SECRET_KEY": TEST_SECRET_KEY,
        "EMIS_LOG_LEVEL": "WARNING",
        **env,
    }
    log_path = data_dir / "serve.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
            cwd=ROOT,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(f"http://127.0.0.1:{port}", proc, log_path, 1, full_env)
    if not wait_ready(server.base, 60, proc):
        server.stop(5)
        raise RuntimeError(f"emis serve did not start:\n{server.log_tail()}")
    return server


@pytest.fixture(scope="module", params=["emis serve", "h11"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Server]]:
    from app.core.migrate import upgrade

    tmp = tmp_path_factory.mktemp("edge")
    url = f"sqlite:///{(tmp / 'edge.db').as_posix()}"
    upgrade(url)
    if request.param == "emis serve":
        server = emis_serve(url, tmp / "srv")
    else:
        server = start_server(url, tmp / "srv", http="h11")
    yield request.param, server
    server.stop()


def raw(server: Server, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are; (status, headers, body) of the answer."""
    port = int(server.base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


def assert_problem(
    status: int, headers: dict[str, str], body: bytes, expected: set[int], type_: str | None
) -> dict:
    assert status in expected, (status, body)
    assert headers["content-type"] == "application/problem+json", headers
    doc = json.loads(body)
    assert doc["status"] == status and doc["title"] and doc["detail"]
    assert doc["type"].startswith(PROBLEM_BASE), doc
    if type_:
        assert doc["type"] == PROBLEM_BASE + type_, doc
    for name, value in SECURITY.items():
        assert headers[name] == value, (name, headers)
    return doc


CLOSE = b"Host: x\r\nConnection: close\r\n"

CASES = {
    "a 100 KB path": (
        b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\n" + CLOSE + b"\r\n",
        {414},
        "uri-too-long",
    ),
    "20 KB of headers": (
        b"GET /health HTTP/1.1\r\n" + CLOSE + b"X-Big: " + b"a" * 20_000 + b"\r\n\r\n",
        {431},
        "headers-too-large",
    ),
    "a control character in a header": (
        b"GET /health HTTP/1.1\r\n" + CLOSE + b"X-Test: a\x01b\r\n\r\n",
        {400},
        "malformed-request",
    ),
    "Content-Length: -1": (
        b"POST /api/v1/auth/token HTTP/1.1\r\n" + CLOSE + b"Content-Length: -1\r\n\r\n",
        {400},
        "malformed-request",
    ),
    "a garbage request line": (b"\x16\x03\x01\x02\x00garbage\r\n\r\n", {400}, "malformed-request"),
    "a request line of one word": (b"HELLO\r\n\r\n", {400}, "malformed-request"),
    "a space in the path": (
        b"GET /a b HTTP/1.1\r\n" + CLOSE + b"\r\n",
        {400},
        "malformed-request",
    ),
    "a byte that is not ASCII in the path": (
        b"GET /\xff HTTP/1.1\r\n" + CLOSE + b"\r\n",
        {400},
        "malformed-request",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_request_the_server_cannot_read_gets_problem_json(served, case):
    request, expected, type_ = CASES[case]
    _, server = served
    status, headers, body = raw(server, request)
    assert_problem(status, headers, body, expected, type_)
    assert server.alive()


def test_an_unknown_method_gets_problem_json_and_405_names_the_allowed_ones(served):
    """httptools cannot parse a method it does not know (400, malformed); h11 hands it to the
    app, which answers 405 with Allow."""
    kind, server = served
    status, headers, body = raw(server, b"FOO /health HTTP/1.1\r\n" + CLOSE + b"\r\n")
    if kind == "h11":
        assert_problem(status, headers, body, {405}, "method-not-allowed")
        assert "GET" in headers["allow"].split(", ")
    else:
        assert_problem(status, headers, body, {400}, "malformed-request")
    # A method both know, on a path that does not take it: 405 with Allow from the app.
    status, headers, body = raw(server, b"PROPFIND /health HTTP/1.1\r\n" + CLOSE + b"\r\n")
    assert_problem(status, headers, body, {405}, "method-not-allowed")
    assert "GET" in headers["allow"].split(", ")
    status, headers, body = raw(server, b"DELETE /api/v1/sync/push HTTP/1.1\r\n" + CLOSE + b"\r\n")
    assert_problem(status, headers, body, {405}, "method-not-allowed")
    assert headers["allow"] == "POST"


def test_emis_serve_and_the_test_servers_run_the_problem_json_protocols():
    from uvicorn.config import HTTP_PROTOCOLS as UVICORN_PROTOCOLS
    from uvicorn.importer import import_from_string

    from app.core.edge import ProblemH11Protocol, ProblemHttpToolsProtocol

    assert HTTP_PROTOCOLS["httptools"] == HTTP_PROTOCOL
    for name, cls in (("h11", ProblemH11Protocol), ("httptools", ProblemHttpToolsProtocol)):
        # uvicorn's Config resolves `http=` the same way: a known name, else an import string.
        assert (
            import_from_string(UVICORN_PROTOCOLS.get(HTTP_PROTOCOLS[name], HTTP_PROTOCOLS[name]))
            is cls
        )
        assert issubclass(cls, import_from_string(UVICORN_PROTOCOLS[name]))


def test_emis_serve_refuses_to_start_without_a_good_secret(db_url, tmp_path):
    """Missing, short or a well-known example: exit 1 and a message naming the variable and
    how to make one; nothing listens."""
    for secret in ("", "short-secret", "changeme" * 5):
        env = {
            **os.environ,
            "EMIS_DATABASE_URL": db_url,
            "EMIS_DATA_DIR": str(tmp_path),
            "EMIS_SECRET_KEY": secret,
        }
        env.pop("EMIS_DEMO_MODE", None)
        run = subprocess.run(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(free_port())],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 1, (secret, run.stdout, run.stderr)
        assert "EMIS_SECRET_KEY" in run.stderr and "secrets.token_urlsafe" in run.stderr, run.stderr
        assert "Serving on" not in run.stderr


def _sent_in_pieces(server: Server, pieces: list[bytes]) -> tuple[int, dict[str, str], bytes]:
    import time

    port = int(server.base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        for piece in pieces:
            try:
                s.sendall(piece)
            except OSError:  # the server answered and closed before the rest
                break
            time.sleep(0.2)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def test_a_head_too_large_is_refused_by_the_server_itself_when_it_arrives_in_pieces(served):
    """The protocol's own limit (h11 waits for the end of the head; httptools counts)."""
    _, server = served
    status, headers, body = _sent_in_pieces(
        server, [b"GET /" + b"a" * 20_000, b"b" * 20_000, b" HTTP/1.1\r\n" + CLOSE + b"\r\n"]
    )
    assert_problem(status, headers, body, {414}, "uri-too-long")
    status, headers, body = _sent_in_pieces(
        server,
        [
            b"GET /health HTTP/1.1\r\nX-A: " + b"a" * 20_000,
            b"a" * 20_000,
            b"\r\n" + CLOSE + b"\r\n",
        ],
    )
    assert_problem(status, headers, body, {431}, "headers-too-large")
