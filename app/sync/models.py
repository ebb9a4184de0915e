"""The change sequence devices pull from, and what the server knows of devices."""

from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.types import PathType, UTCDateTime


class SyncCounter(SQLModel, table=True):
    """A single-row counter; taking the next value locks the row until commit, so sequence
    numbers become visible in commit order and a cursor never skips a late commit."""

    __tablename__ = "sync_counter"

    name: str = Field(primary_key=True, max_length=32)
    value: int = Field(sa_column=Column(BigInteger, nullable=False))


class SyncChange(SQLModel, table=True):
    """Latest change of each entity; `seq` moves forward every time the entity changes."""

    __tablename__ = "sync_change"
    __table_args__ = (
        UniqueConstraint("entity_type", "entity_key"),
        Index("ix_sync_change_seq", "seq", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    entity_type: str = Field(max_length=16)
    entity_key: str = Field(max_length=200)
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    op: str = Field(max_length=8)
    # Path of the admin unit the entity belongs to (None: visible to everyone).
    unit_path: str | None = Field(default=None, sa_column=Column(PathType, nullable=True))


class ServerMeta(SQLModel, table=True):
    """Small key/value facts about this database (its epoch for pull cursors)."""

    __tablename__ = "server_meta"

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(sa_column=Column(String(200), nullable=False))


class Device(SQLModel, table=True):
    """A district laptop, as seen by the server: who used it and when it last synced."""

    __tablename__ = "device"

    device_id: str = Field(primary_key=True, max_length=100)
    user_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("app_user.id")))
    last_push_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    last_pull_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
