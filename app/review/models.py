"""The review feature's own table: schools excused from a year's census, with the reason."""

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.types import UTCDateTime, utcnow


class ReturnExcuse(SQLModel, table=True):
    """A school that need not send this form for this year (closed for works, merged, …): a
    unit's approval counts it as done."""

    __tablename__ = "return_excuse"
    __table_args__ = (UniqueConstraint("form_code", "year", "school_id"),)

    id: int | None = Field(default=None, primary_key=True)
    form_code: str = Field(max_length=64)
    year: int = Field(sa_column=Column(Integer, ForeignKey("school_year.year"), nullable=False))
    school_id: int = Field(
        sa_column=Column(Integer, ForeignKey("school.id"), nullable=False, index=True)
    )
    reason: str = Field(sa_column=Column(String(500), nullable=False))
    user_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("app_user.id")))
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
