"""Opaque cursors for paged lists: base64url of a small JSON object.

Every endpoint decodes its cursors with the exact shape it made them with (`decode_cursor(c,
{"i": int})`): a cursor the server did not make, whatever it holds, is a 400 naming
`query.cursor` (the sync pull answers 410 instead, as API.md fixes), never a 500 or a
misleading 422."""

import base64
import binascii
import json
import re
from typing import Annotated, Any

from fastapi import Query

from app.core.errors import BadRequest

CURSOR_MAX = 512
# Empty is the first page, as absent is (a form that sends every field sends `cursor=`).
CURSOR_PATTERN = rf"^[A-Za-z0-9_-]{{0,{CURSOR_MAX}}}$"
_CURSOR_RE = re.compile(r"[A-Za-z0-9_-]+")
_INT_MAX = 2**63 - 1  # the widest integer column a cursor can point into
_TEXT_MAX = 1000

CURSOR_DOC = (
    "Opaque cursor from the previous page (`next_cursor`): base64url without padding, made by "
    "this server. Omit it (or send it empty) for the first page; any other value is refused."
)
# The pattern is documented, not validated by FastAPI: a bad cursor is the endpoint's 400.
CursorQuery = Annotated[
    str | None,
    Query(
        description=CURSOR_DOC,
        json_schema_extra={"pattern": CURSOR_PATTERN, "maxLength": CURSOR_MAX},
    ),
]


def encode_cursor(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _fits(value: Any, kind: type) -> bool:
    if kind is int:
        return type(value) is int and 0 <= value <= _INT_MAX
    if kind is str:
        return (
            type(value) is str
            and len(value) <= _TEXT_MAX
            and not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in value)
        )
    return False


def decode_cursor(
    cursor: str, shape: dict[str, type], error: type[Exception] = BadRequest
) -> dict[str, Any]:
    """Decode a cursor made by encode_cursor with exactly the keys and types of `shape` (int:
    0..2**63-1, str: plain text of at most 1000 characters); anything else raises `error`
    naming `query.cursor`."""
    data: Any = None
    if len(cursor) <= CURSOR_MAX and _CURSOR_RE.fullmatch(cursor):
        try:
            raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
            data = json.loads(raw.decode("utf-8"), parse_constant=lambda c: None)
        except (binascii.Error, ValueError, RecursionError):
            data = None
    if (
        isinstance(data, dict)
        and data.keys() == shape.keys()
        and all(_fits(data[k], kind) for k, kind in shape.items())
    ):
        return data
    raise error(
        "The cursor is not one this server issued; start again without a cursor.",
        [{"code": "BAD_CURSOR", "path": "query.cursor", "message": "unknown cursor"}],
    )
