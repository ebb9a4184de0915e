"""Kept totals: the sums indicators and aggregates read, kept current with every revision.

`indicator_placement` says, per return, which revision its figures were counted from and where
(unit, ownership, locality, status, levels offered): to take a return's contribution out again,
its cells are recomputed from that immutable revision. A split (`indicator_split`) is one leaf
unit, year, form, status, ownership and locality; `indicator_sum` holds, per split, the sum of
each cell over the schools counted there and how many schools gave it, keyed by (split, key) (a
narrow key: a push inserts thousands of these rows, and a two-column key costs half what the
eight columns of the split did). `flow_sum` holds the same for pairs of consecutive years of one
school (the base year's cells as `0:key`, the next year's as `1:key`; the split's year is the
base year): flow rates use only schools that reported in both years. Splits are never deleted
(they are few, and their ids stay valid for every writer)."""

from typing import Any

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String
from sqlmodel import Field, SQLModel

from app.core.types import JsonDocType, JsonType


class IndicatorPlacement(SQLModel, table=True):
    __tablename__ = "indicator_placement"
    __table_args__ = (Index("ix_indicator_placement_school_year", "school_id", "year"),)

    return_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("census_return.id", ondelete="CASCADE"), primary_key=True
        )
    )
    school_id: int
    year: int
    form_code: str = Field(max_length=64)
    form_version: int
    revision: int
    unit_id: int
    ownership: str = Field(max_length=32)
    locality: str = Field(max_length=16)
    status: str = Field(max_length=16)
    levels: list[str] = Field(default_factory=list, sa_column=Column(JsonType, nullable=False))
    # The school's own figures from this revision (app.indicators.keep.school_summary), so a
    # list of schools reads them here, never from the revisions' cells; {} until counted.
    figures: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=Column(JsonType, nullable=False, server_default="{}"),
    )


class IndicatorSplit(SQLModel, table=True):
    """Where totals are counted: a leaf unit, year, form, status, ownership and locality."""

    __tablename__ = "indicator_split"
    __table_args__ = (
        # Readers pick splits by year, form and status, then units.
        Index(
            "ux_indicator_split_place",
            "year", "form_code", "status", "unit_id", "ownership", "locality",
            unique=True,
        ),
    )  # fmt: skip

    id: int | None = Field(default=None, primary_key=True)
    year: int
    form_code: str = Field(max_length=64)
    unit_id: int
    status: str = Field(max_length=16)
    ownership: str = Field(max_length=32)
    locality: str = Field(max_length=16)


class IndicatorTotal(SQLModel, table=True):
    """One cell's sum over the schools of a split (one year)."""

    __tablename__ = "indicator_sum"

    split_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    key: str = Field(sa_column=Column(String(200), primary_key=True))
    element: str = Field(max_length=64)  # the key's first part, for readers to pick by
    value: int = Field(sa_column=Column(BigInteger, nullable=False))
    schools: int


class FlowTotal(SQLModel, table=True):
    """One cell's sum over the pairs of consecutive years of a split (its year: the base)."""

    __tablename__ = "flow_sum"

    split_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    key: str = Field(sa_column=Column(String(200), primary_key=True))
    element: str = Field(max_length=64)
    value: int = Field(sa_column=Column(BigInteger, nullable=False))
    schools: int


class IndicatorCells(SQLModel, table=True):
    """The cells indicators do not read (ages of the enrolment grid, textbooks, toilets, …),
    per leaf unit and split, as one document {key: [sum, schools]}: aggregates by any of the
    form's dimensions read them, and a revision updates one document per split, not one row
    per cell."""

    __tablename__ = "indicator_cells"

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    form_code: str = Field(primary_key=True, max_length=64)
    unit_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    status: str = Field(primary_key=True, max_length=16)
    ownership: str = Field(primary_key=True, max_length=32)
    locality: str = Field(primary_key=True, max_length=16)
    cells: dict[str, list[int]] = Field(
        default_factory=dict, sa_column=Column(JsonDocType, nullable=False)
    )
