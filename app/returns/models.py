"""Returns and their immutable revisions; nothing is ever overwritten in place."""

from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Integer, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.types import JsonDocType, UTCDateTime, utcnow


class CensusReturn(SQLModel, table=True):
    """One school's form for one year; points at its current revision."""

    __tablename__ = "census_return"
    __table_args__ = (UniqueConstraint("form_code", "year", "school_id"),)

    id: int | None = Field(default=None, primary_key=True)
    form_code: str = Field(max_length=64)
    year: int = Field(
        sa_column=Column(Integer, ForeignKey("school_year.year"), nullable=False, index=True)
    )
    school_id: int = Field(
        sa_column=Column(Integer, ForeignKey("school.id"), nullable=False, index=True)
    )
    form_version: int
    revision: int = Field(ge=1)
    status: str = Field(max_length=16)
    # The admin level of the highest rung of the approval ladder that approved the current
    # revision (app/review); None unless approved or locked.
    approved_level: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    updated_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("app_user.id"))
    )


class ReturnRevision(SQLModel, table=True):
    """One revision's values as sent, with who, from where, when, and the push id."""

    __tablename__ = "return_revision"
    __table_args__ = (UniqueConstraint("return_id", "revision"),)

    id: int | None = Field(default=None, primary_key=True)
    return_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("census_return.id", ondelete="CASCADE"), nullable=False
        )
    )
    revision: int = Field(ge=1)
    form_version: int
    values: dict[str, Any] = Field(sa_column=Column(JsonDocType, nullable=False))
    push_id: str | None = Field(
        default=None, sa_column=Column(String(36), unique=True, nullable=True)
    )
    content_hash: str = Field(max_length=64)
    status: str = Field(max_length=16)  # the status this revision gave the return when applied
    errors: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JsonDocType, nullable=False)
    )
    warnings: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JsonDocType, nullable=False)
    )
    user_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("app_user.id")))
    device_id: str | None = Field(default=None, max_length=100)
    captured_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    received_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class ReturnStatusChange(SQLModel, table=True):
    """Every status transition of a return: who, when, why."""

    __tablename__ = "return_status_change"

    id: int | None = Field(default=None, primary_key=True)
    return_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("census_return.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    revision: int
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str = Field(max_length=16)
    # For approvals: the admin level of the rung that approved.
    at_level: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    comment: str | None = Field(default=None, max_length=2000)
    user_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("app_user.id")))
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
