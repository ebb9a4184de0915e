"""Stored form definitions: immutable once loaded, a change is a new version."""

from datetime import datetime
from typing import Any

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from app.core.types import JsonType, UTCDateTime, utcnow


class FormVersion(SQLModel, table=True):
    """One version of one form definition, kept as the JSON it was loaded from."""

    __tablename__ = "form_version"

    code: str = Field(primary_key=True, max_length=64)
    version: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    title: str = Field(max_length=200)
    definition: dict[str, Any] = Field(sa_column=Column(JsonType, nullable=False))
    content_hash: str = Field(max_length=64)
    loaded_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
