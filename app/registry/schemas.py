"""API shapes for the registry (reference data)."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$"


class Ownership(StrEnum):
    public = "public"
    private = "private"
    community = "community"
    faith_based = "faith_based"


class Locality(StrEnum):
    urban = "urban"
    rural = "rural"


class SchoolStatus(StrEnum):
    open = "open"
    closed = "closed"


class AdminUnitBase(BaseModel):
    name: str = Field(min_length=1, max_length=200, examples=["Nord"])
    level_name: str = Field(min_length=1, max_length=64, examples=["department"])
    parent: str | None = Field(
        None, description="Code of the parent unit; null for the root.", examples=["HT"]
    )


class AdminUnitUpsert(AdminUnitBase):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"name": "Nord", "level_name": "department", "parent": "HT"}]
        }
    )


class AdminUnitPublic(AdminUnitBase):
    code: str = Field(examples=["HT-NO"])
    level: int = Field(description="0 = national, 1 = region/department, 2 = district, …")
    path: list[str] = Field(description="Codes from the root down to this unit.")


class SchoolBase(BaseModel):
    name: str = Field(min_length=1, max_length=300, examples=["École Nationale de Limbé"])
    unit: str = Field(
        description="Code of the admin unit the school belongs to.", examples=["HT-NO-LIM"]
    )
    ownership: Ownership
    locality: Locality | None = None
    levels: list[str] = Field(default_factory=list, examples=[["primary"]])
    status: SchoolStatus = SchoolStatus.open
    attributes: dict[str, Any] = Field(default_factory=dict)


class SchoolUpsert(SchoolBase):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "École Nationale de Limbé",
                    "unit": "HT-NO-LIM",
                    "ownership": "public",
                    "locality": "rural",
                    "levels": ["primary"],
                    "status": "open",
                }
            ]
        }
    )


class SchoolPublic(SchoolBase):
    code: str = Field(examples=["HT-NO-0412"])


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` for the next page; null at the end."
    )


class SchoolYearBase(BaseModel):
    label: str = Field(examples=["2025/26"])
    reference_date: date = Field(examples=["2025-11-15"])
    window_opens: datetime = Field(examples=["2025-11-01T00:00:00+00:00"])
    window_closes: datetime = Field(examples=["2026-03-31T23:59:59+00:00"])
    reopened_until: datetime | None = Field(None, description="Set by an administrator to reopen.")

    @model_validator(mode="after")
    def _window_order(self) -> "SchoolYearBase":
        for name in ("window_opens", "window_closes", "reopened_until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} needs a time zone (RFC 3339), e.g. 2025-11-01T00:00:00Z")
        if self.window_closes < self.window_opens:
            raise ValueError("window_closes is before window_opens")
        return self


class SchoolYearPublic(SchoolYearBase):
    year: int = Field(description="Calendar year the school year starts in (2025 = 2025/26).")
    is_open: bool = Field(description="Whether returns may be written now.")


class EducationLevelBase(BaseModel):
    name: str = Field(examples=["Primary"])
    sequence: int = Field(ge=0, description="Order of the level (0 = first).")
    entrance_age: int = Field(ge=0, le=30, examples=[6])
    duration: int = Field(ge=1, le=15, examples=[6])
    grades: list[str] = Field(min_length=1, examples=[["P1", "P2", "P3", "P4", "P5", "P6"]])

    @model_validator(mode="after")
    def _grades_match_duration(self) -> "EducationLevelBase":
        if len(self.grades) != self.duration:
            raise ValueError(f"{len(self.grades)} grades given for a duration of {self.duration}")
        return self


class EducationLevelPublic(EducationLevelBase):
    code: str = Field(examples=["primary"])


class PopulationRow(BaseModel):
    unit: str = Field(examples=["HT-NO-LIM"])
    year: int = Field(examples=[2025])
    age: int = Field(ge=0, le=120, examples=[6])
    sex: str = Field(pattern="^[FM]$", examples=["F"])
    value: int = Field(ge=0, examples=[1520])


class PopulationUpsert(BaseModel):
    rows: list[PopulationRow] = Field(min_length=1, max_length=100_000)
