"""What the server knows of devices: who used each and when it last pushed or pulled."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlmodel import col

from app.core.types import utcnow
from app.sync.models import Device


def touch_device(session: Session, device_id: str, user_id: int, now: datetime, push: bool) -> None:
    """Note that a device pushed (or pulled) now, for this user."""
    column = "last_push_at" if push else "last_pull_at"
    dialect = session.get_bind().dialect.name
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Device)
    session.execute(
        ins.values(device_id=device_id, user_id=user_id, **{column: now}).on_conflict_do_update(
            index_elements=["device_id"], set_={"user_id": user_id, column: now}
        )
    )


def oldest_device_sync(session: Session) -> float | None:
    """Seconds since the least recently pushing device last pushed (None: no devices)."""
    oldest = session.scalar(
        select(col(Device.last_push_at))
        .where(col(Device.last_push_at).is_not(None))
        .order_by(col(Device.last_push_at))
        .limit(1)
    )
    return (utcnow() - oldest).total_seconds() if oldest else None
