"""Column types that behave the same on SQLite and PostgreSQL."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer, String, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; always hands back timezone-aware datetimes (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    """Now, in UTC, aware."""
    return datetime.now(UTC)


# JSONB on PostgreSQL (indexable, compact), plain JSON text on SQLite.
JsonType = JSON().with_variant(JSONB(), "postgresql")
# Plain JSON text on both, for large documents written often and read whole (revision values):
# PostgreSQL stores it about three times faster than JSONB and smaller. Nothing queries inside
# it today, and PostgreSQL's json has no equality (no DISTINCT or GROUP BY on it): the
# aggregates are meant to be kept from the values in hand when a revision is applied; if they
# ever need SQL inside the values, cast to jsonb or revisit this choice.
JsonDocType = JSON()
# Byte-wise ordering on PostgreSQL so that prefix ranges on materialised paths use the index.
PathType = String(255).with_variant(String(255, collation="C"), "postgresql")
# 64-bit keys on PostgreSQL; SQLite's INTEGER PRIMARY KEY is already 64-bit and autoincrements.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")
