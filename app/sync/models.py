"""What the server knows of devices (the change log itself lives in app/core/changelog.py)."""

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel

from app.core.types import UTCDateTime


class Device(SQLModel, table=True):
    """A district laptop, as seen by the server: whose it is (the user who first pushed from
    it) and when it last pushed."""

    __tablename__ = "device"

    device_id: str = Field(primary_key=True, max_length=100)
    user_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("app_user.id")))
    last_push_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
