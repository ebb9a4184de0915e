"""Reference data tables: admin units, schools, school years, education structure, population."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, Integer, String
from sqlmodel import Field, SQLModel

from app.core.types import JsonType, PathType, UTCDateTime


class AdminUnit(SQLModel, table=True):
    """A node of the administrative tree; `path` lists the ids from the root: /1/7/42/."""

    __tablename__ = "admin_unit"
    __table_args__ = (Index("ix_admin_unit_path", "path"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    name: str = Field(max_length=200)
    level: int = Field(ge=0)
    level_name: str = Field(max_length=64)
    parent_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("admin_unit.id", ondelete="RESTRICT"), index=True),
    )
    path: str = Field(sa_column=Column(PathType, nullable=False))


class School(SQLModel, table=True):
    """A school with its EMIS code; it belongs to one admin unit (usually a leaf)."""

    __tablename__ = "school"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    name: str = Field(max_length=300)
    admin_unit_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("admin_unit.id", ondelete="RESTRICT"), nullable=False, index=True
        )
    )
    ownership: str = Field(max_length=32)
    locality: str | None = Field(default=None, max_length=16)
    levels: list[str] = Field(default_factory=list, sa_column=Column(JsonType, nullable=False))
    status: str = Field(default="open", max_length=16)
    attributes: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JsonType, nullable=False)
    )


class SchoolYear(SQLModel, table=True):
    """A school year (2025 = 2025/26) and its census window."""

    __tablename__ = "school_year"

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    label: str = Field(max_length=32)
    reference_date: date
    window_opens: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    window_closes: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    reopened_until: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )

    def is_open(self, now: datetime) -> bool:
        """Whether returns for this year may be written at `now`."""
        if self.window_opens <= now <= self.window_closes:
            return True
        return self.reopened_until is not None and now <= self.reopened_until


class EducationLevel(SQLModel, table=True):
    """One level of the education structure: its grades, entrance age and duration."""

    __tablename__ = "education_level"

    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=100)
    sequence: int
    entrance_age: int = Field(ge=0)
    duration: int = Field(ge=1)
    grades: list[str] = Field(default_factory=list, sa_column=Column(JsonType, nullable=False))


class Population(SQLModel, table=True):
    """School-age population estimate for one unit, year, single age and sex."""

    __tablename__ = "population"

    admin_unit_id: int = Field(
        sa_column=Column(Integer, ForeignKey("admin_unit.id", ondelete="CASCADE"), primary_key=True)
    )
    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    age: int = Field(primary_key=True, ge=0, sa_column_kwargs={"autoincrement": False})
    sex: str = Field(primary_key=True, max_length=1)
    value: int = Field(ge=0)
