"""Bounds on integers at the API edge, so an absurd number is a 422 naming the field and never
reaches the database (SQLite cannot bind integers of 2**63 or more; PostgreSQL's integer columns
stop at 2**31 - 1)."""

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import Field, PlainValidator, WithJsonSchema

MAX_INT = 2_147_483_647  # PostgreSQL `integer`
YEAR_MIN, YEAR_MAX = 1900, 2200

# In bodies a number must be a JSON number: strict, so `true` or "12" is not taken as one.
Year = Annotated[int, Field(strict=True, ge=YEAR_MIN, le=YEAR_MAX, examples=[2025])]
Count = Annotated[int, Field(strict=True, ge=0, le=MAX_INT)]
PathYear = Annotated[int, Path(ge=YEAR_MIN, le=YEAR_MAX, examples=[2025])]
QueryYear = Annotated[int, Query(ge=YEAR_MIN, le=YEAR_MAX, examples=[2025])]
PathVersion = Annotated[int, Path(ge=1, le=MAX_INT, examples=[1])]


# ------------------------------------------------------------------ dates and times in bodies
# RFC 3339 text only: a plain number is not taken as seconds since 1970, a time must name its
# zone, and the instant must lie in YEAR_MIN..YEAR_MAX once in UTC (9999-12-31T23:59:59-14:00
# would overflow the conversion).
_INSTANT_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})"
)
_DAY_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
INSTANT_RULE = (
    f"must be an RFC 3339 date and time with a time zone, as text, in the years "
    f"{YEAR_MIN}-{YEAR_MAX} (e.g. 2025-11-01T00:00:00Z)"
)
DAY_RULE = f"must be a date YYYY-MM-DD, as text, in the years {YEAR_MIN}-{YEAR_MAX}"


def _instant(value: Any) -> datetime:
    if isinstance(value, datetime) and value.tzinfo is not None:  # made by the server itself
        text = value.isoformat()
    elif isinstance(value, str) and _INSTANT_RE.fullmatch(value):
        text = value
    else:
        raise ValueError(INSTANT_RULE)
    try:
        parsed = datetime.fromisoformat(text.replace("z", "Z").replace("t", "T"))
        utc = parsed.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise ValueError(INSTANT_RULE) from exc
    if not YEAR_MIN <= utc.year <= YEAR_MAX or not YEAR_MIN <= parsed.year <= YEAR_MAX:
        raise ValueError(INSTANT_RULE)
    return utc


def _day(value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _DAY_RE.fullmatch(value):
        raise ValueError(DAY_RULE)
    try:
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(DAY_RULE) from exc
    if not YEAR_MIN <= day.year <= YEAR_MAX:
        raise ValueError(DAY_RULE)
    return day


# A time stamp in a request body, returned in UTC.
Instant = Annotated[
    datetime,
    PlainValidator(_instant, json_schema_input_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "description": INSTANT_RULE}),
]
Day = Annotated[
    date,
    PlainValidator(_day, json_schema_input_type=str),
    WithJsonSchema({"type": "string", "format": "date", "description": DAY_RULE}),
]
