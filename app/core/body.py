"""Request bodies, before anything else reads them: one size cap for every route, gzip for every
route, and a JSON body read by one strict parser.

`RequestBodyGuard` is pure ASGI and runs before routing, auth and parsing, so a body no route
could take costs at most `max_bytes` of memory: a declared Content-Length over the cap is refused
at once, a streamed body when it passes the cap, a gzip body when its inflated size does (a gzip
bomb stops after `max_bytes + 1` inflated bytes). Refusals read and drop the rest of the body (up
to a bound) so the client, still uploading, reads the answer. A JSON body (by Content-Type) must
be strict JSON: UTF-8, no duplicate keys in one object (a value sent twice is not silently one of
the two), no NaN or Infinity, no number that does not fit a double, not nested beyond the
parser's depth; else 400 `malformed-json`, whatever the route."""

import json
import math
import zlib
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.admission import drain_body
from app.core.errors import (
    AppError,
    InvalidInput,
    MalformedBody,
    MalformedJson,
    PayloadTooLarge,
    UnsupportedMediaType,
    problem,
)
from app.core.media import is_json

PARSED_JSON = "emis.json_body"  # scope key: the body as parsed by the strict parser
_IDENTITY = ("", "identity")
_GZIP = ("gzip", "x-gzip")


def _field(code: str, message: str, path: str = "body") -> list[dict[str, Any]]:
    return [{"code": code, "path": path, "message": message}]


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise MalformedJson(
                f"The key {key[:60]!r} appears twice in one JSON object; send each key once.",
                _field("DUPLICATE_KEY", f"duplicate key {key[:60]!r}"),
            )
        seen.add(key)
    return obj


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise MalformedJson(
            f"The number {text[:40]} is out of range.", _field("NUMBER_OUT_OF_RANGE", text[:40])
        )
    return value


def _no_constant(name: str) -> Any:
    raise MalformedJson(
        f"{name} is not JSON (RFC 8259 has no NaN or Infinity).", _field("NOT_JSON", name)
    )


def loads_strict(raw: bytes) -> Any:
    """Parse a JSON body strictly (see the module doc); MalformedJson naming what is wrong."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedJson(
            f"The body is not UTF-8 (byte {exc.start}).", _field("NOT_UTF8", "not UTF-8")
        ) from exc
    try:
        return json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_float=_finite,
            parse_constant=_no_constant,
        )
    except json.JSONDecodeError as exc:
        raise MalformedJson(
            f"The body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}.",
            _field("JSON_INVALID", f"{exc.msg} at character {exc.pos}"),
        ) from exc
    except RecursionError as exc:
        raise MalformedJson(
            "The body is nested too deeply to be read.", _field("TOO_DEEP", "nested too deeply")
        ) from exc
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise MalformedJson(
            "The body holds a number too long to be read.", _field("NUMBER_OUT_OF_RANGE", "")
        ) from exc


def json_body(request: Request) -> Any:
    """The JSON body as the guard parsed it (routes that read their body themselves)."""
    if PARSED_JSON not in request.scope:  # an empty body, as FastAPI answers for its own
        raise InvalidInput("The request has no body.", _field("MISSING", "Field required"))
    return request.scope[PARSED_JSON]


def _inflate(packed: bytes, limit: int) -> bytes:
    """Every gzip member of `packed` (RFC 1952 allows several), at most `limit` bytes."""
    out = bytearray()
    rest = packed
    while rest:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out += inflater.decompress(rest, limit + 1 - len(out))
        except zlib.error as exc:
            raise MalformedBody(
                "The body is not valid gzip.", _field("BAD_GZIP", "not valid gzip")
            ) from exc
        if len(out) > limit or inflater.unconsumed_tail:
            raise PayloadTooLarge(
                f"The uncompressed request body is over the limit of {limit} bytes.",
                _field("TOO_LARGE", f"over {limit} bytes once inflated"),
            )
        if not inflater.eof:
            raise MalformedBody(
                "The gzip body is cut short.", _field("BAD_GZIP", "truncated gzip stream")
            )
        rest = inflater.unused_data
    return bytes(out)


class RequestBodyGuard:
    """ASGI middleware: cap, inflate and (for JSON) parse every request body before the app."""

    def __init__(self, app: ASGIApp, max_bytes: int, larger: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = larger or {}  # path -> its own cap (push takes sync_max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        done: list[bool] = []  # set once the whole body was received
        try:
            body = await self._read(scope, receive, done)
        except AppError as exc:
            if not done:
                await drain_body(receive)
            response = problem(
                exc.status, exc.title, exc.detail, exc.type, exc.errors, instance=scope["path"]
            )
            await response(scope, receive, send)
            return
        if body is None:  # the client went away
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _read(self, scope: Scope, receive: Receive, done: list[bool]) -> bytes | None:
        limit = self.larger.get(scope["path"], self.max_bytes)
        headers = [(k.lower(), v) for k, v in scope["headers"]]
        encodings = [
            e.strip().lower()
            for k, v in headers
            if k == b"content-encoding"
            for e in v.decode("latin-1").split(",")
        ]
        encoding = ",".join(e for e in encodings if e not in _IDENTITY)
        if encoding not in ("", *_GZIP):
            raise _unsupported_encoding(encoding)
        declared = next((v for k, v in headers if k == b"content-length"), None)
        if declared is not None:
            if not declared.isdigit():
                raise MalformedBody(
                    "The Content-Length header is not a number.",
                    _field("BAD_CONTENT_LENGTH", "not a number", "header.content-length"),
                )
            if int(declared) > limit:
                raise _too_large(limit, f"The request body is {int(declared)} bytes")
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if not more:
                done.append(True)  # nothing left to drain
            if len(body) > limit:
                raise _too_large(limit, "The request body is")
        raw = bytes(body)
        if encoding and raw:
            raw = _inflate(raw, limit)
        content_type = next((v for k, v in headers if k == b"content-type"), b"")
        if raw and is_json(content_type.decode("latin-1")):
            scope[PARSED_JSON] = loads_strict(raw)
        if encoding or declared is not None:
            # Routes see the body as it is now: inflated, with its true length.
            scope["headers"] = [
                (k, v)
                for k, v in scope["headers"]
                if k.lower() not in (b"content-encoding", b"content-length")
            ] + [(b"content-length", str(len(raw)).encode())]
        return raw


def _too_large(limit: int, what: str) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"{what} over the limit of {limit} bytes; nothing was done. "
        "Push limits: GET /api/v1/sync/config.",
        _field("TOO_LARGE", f"over {limit} bytes"),
    )


def _unsupported_encoding(encoding: str) -> AppError:
    return UnsupportedMediaType(
        f"Content-Encoding {encoding[:40]!r} is not supported; send gzip or no encoding.",
        _field("UNSUPPORTED_ENCODING", encoding[:40], "header.content-encoding"),
    )
