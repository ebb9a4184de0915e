"""Opaque cursors for paged lists: base64 of a small JSON object."""

import base64
import json
from typing import Any

from app.core.errors import BadRequest


def encode_cursor(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, error: type[Exception] = BadRequest) -> dict[str, Any]:
    """Decode a cursor made by encode_cursor; anything else raises `error` naming the field."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError
        return data
    except Exception as exc:
        raise error(
            "The cursor is not one this server issued; start again without a cursor.",
            [{"code": "BAD_CURSOR", "path": "query.cursor", "message": "unknown cursor"}],
        ) from exc
