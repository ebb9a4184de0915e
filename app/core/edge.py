"""What the HTTP server itself answers before the app sees a request: problem+json, never
uvicorn's plain-text "Invalid HTTP request received.".

uvicorn answers a request it cannot parse (a request line or headers too long, a control
character in a header, `Content-Length: -1`, an unknown method under httptools, garbage) with
`send_400_response`. These protocol classes, chosen with uvicorn's `http=` option (`emis serve`
and the test servers do), send the same refusal as RFC 9457 problem+json with a `type` that
names it, and with the security headers every response carries (app/core/security_headers.py).

    uvicorn.run("app.asgi:app", http="app.core.edge:ProblemHttpToolsProtocol")

httptools has no limit of its own on the request line or the headers; the httptools class
applies the one h11 applies (uvicorn's `h11_max_incomplete_event_size`, 16 KiB by default), so
both refuse an oversized request the same way."""

import json
from http import HTTPStatus
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.core.errors import PROBLEM_BASE, PROBLEM_JSON
from app.core.security_headers import static_security_headers

# h11's default (uvicorn passes its own default, h11.DEFAULT_MAX_INCOMPLETE_EVENT_SIZE, too).
DEFAULT_HEAD_LIMIT = 16 * 1024

# status -> (type, title, detail)
_REFUSALS: dict[int, tuple[str, str, str]] = {
    400: (
        "malformed-request",
        "Malformed HTTP request",
        "The server could not read this HTTP request (a bad request line, method, header or "
        "Content-Length). Nothing was done.",
    ),
    414: (
        "uri-too-long",
        "URI too long",
        "The request line is longer than this server reads ({limit} bytes). Nothing was done.",
    ),
    431: (
        "headers-too-large",
        "Request header fields too large",
        "The request headers are larger than this server reads ({limit} bytes). Nothing was done.",
    ),
}


def refusal_bytes(
    status: int, limit: int = DEFAULT_HEAD_LIMIT
) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """Headers and body of the problem+json answer to a request the server could not read."""
    type_, title, detail = _REFUSALS[status]
    body = json.dumps(
        {
            "type": PROBLEM_BASE + type_,
            "title": title,
            "status": status,
            "detail": detail.format(limit=limit),
        }
    ).encode("ascii")
    headers = [
        (b"content-type", PROBLEM_JSON.encode("ascii")),
        (b"content-length", str(len(body)).encode("ascii")),
        (b"connection", b"close"),
        *static_security_headers(),
    ]
    return headers, body


def _head_limit(config: Any) -> int:
    return int(getattr(config, "h11_max_incomplete_event_size", None) or DEFAULT_HEAD_LIMIT)


def _refusal_response(status: int, limit: int) -> bytes:
    headers, body = refusal_bytes(status, limit)
    line = f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n".encode("ascii")
    return line + b"".join(n + b": " + v + b"\r\n" for n, v in headers) + b"\r\n" + body


class ProblemH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, refusing unreadable requests as problem+json."""

    def send_400_response(self, msg: str) -> None:
        status = 400
        limit = _head_limit(self.config)
        buffered, _closed = self.conn.trailing_data
        if len(buffered) > limit:
            # h11 gave up waiting for the end of the head: say which part was too long.
            first_line = buffered.split(b"\r\n", 1)
            status = 414 if len(first_line) == 1 or len(first_line[0]) > limit else 431
        self.transport.write(_refusal_response(status, limit))
        self.transport.close()


class _HeadTooLarge(Exception):
    """Raised from a parser callback; httptools turns it into HttpParserCallbackError, which
    uvicorn answers with `send_400_response`."""


class ProblemHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing unreadable requests as problem+json, with h11's
    limit on the size of the request line and headers."""

    _refusal = 400
    _head_size = 0

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_size = 0
        self._refusal = 400

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > _head_limit(self.config):
            self._refusal = 414
            raise _HeadTooLarge

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        self._head_size += len(name) + len(value) + 4
        if self._head_size > _head_limit(self.config):
            self._refusal = 431
            raise _HeadTooLarge

    def send_400_response(self, msg: str) -> None:
        self.transport.write(_refusal_response(self._refusal, _head_limit(self.config)))
        self.transport.close()


# uvicorn's `http=` values for these classes (`emis serve` runs httptools, uvicorn's "auto").
HTTP_PROTOCOLS = {
    "h11": "app.core.edge:ProblemH11Protocol",
    "httptools": "app.core.edge:ProblemHttpToolsProtocol",
}
