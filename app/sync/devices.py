"""What the server knows of devices: who used each and when it last pushed or pulled."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlmodel import col

from app.core.errors import Forbidden
from app.core.types import utcnow
from app.sync.models import Device

TOUCH_EVERY = 60.0  # seconds


def _taken(device_id: str) -> Forbidden:
    return Forbidden(
        f"The device id {device_id!r} belongs to another user; each person pushes from a device "
        "id of their own (the sync client makes one per installation).",
        [{"code": "DEVICE_OF_ANOTHER_USER", "path": "body.device_id", "message": device_id}],
    )


def check_device(session: Session, device_id: str, user_id: int) -> datetime | None:
    """403 when the device is already registered to another user (a device belongs to the
    user who first pushed from it; a push never hands it over). Returns when the user's
    device last pushed (None: not registered yet, or never noted)."""
    found = session.execute(
        select(col(Device.user_id), col(Device.last_push_at)).where(
            col(Device.device_id) == device_id
        )
    ).first()
    if found is not None and found[0] != user_id:
        raise _taken(device_id)
    return found[1] if found is not None else None


def needs_touch(last_push: datetime | None, now: datetime) -> bool:
    """A device's last push is noted to the minute (the oldest-sync gauge reads it): a device
    seen less than TOUCH_EVERY ago is not written again, one statement less per push."""
    return last_push is None or abs((now - last_push).total_seconds()) >= TOUCH_EVERY


def touch_device(session: Session, device_id: str, user_id: int, now: datetime) -> None:
    """Note that the user's device pushed now; the first push registers it to the user. A
    device registered to someone else is refused (403), even when two first pushes race."""
    dialect = session.get_bind().dialect.name
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Device)
    done = session.execute(
        ins.values(device_id=device_id, user_id=user_id, last_push_at=now).on_conflict_do_update(
            index_elements=["device_id"],
            set_={"last_push_at": now},
            where=col(Device.user_id) == user_id,
        )
    )
    if done.rowcount == 0:  # type: ignore[attr-defined]
        raise _taken(device_id)


def oldest_device_sync(session: Session) -> float | None:
    """Seconds since the least recently pushing device last pushed (None: no devices)."""
    oldest = session.scalar(
        select(col(Device.last_push_at))
        .where(col(Device.last_push_at).is_not(None))
        .order_by(col(Device.last_push_at))
        .limit(1)
    )
    return (utcnow() - oldest).total_seconds() if oldest else None
