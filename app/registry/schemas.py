"""API shapes for the registry (reference data)."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.core.bounds import Count, Year

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


ADMIN_UNIT_EXAMPLE: dict[str, Any] = {
    "code": "HT-NO",
    "name": "Nord",
    "level_name": "department",
    "parent": "HT",
    "level": 1,
    "path": ["HT", "HT-NO"],
}
SCHOOL_EXAMPLE: dict[str, Any] = {
    "code": "HT-NO-0412",
    "name": "École Nationale de Limbé",
    "unit": "HT-NO-LIM",
    "ownership": "public",
    "locality": "rural",
    "levels": ["primary"],
    "status": "open",
    "attributes": {},
}


class AdminUnitPublic(AdminUnitBase):
    model_config = ConfigDict(json_schema_extra={"examples": [ADMIN_UNIT_EXAMPLE]})

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
                {k: v for k, v in SCHOOL_EXAMPLE.items() if k not in ("code", "attributes")}
            ]
        }
    )


class SchoolPublic(SchoolBase):
    model_config = ConfigDict(json_schema_extra={"examples": [SCHOOL_EXAMPLE]})

    code: str = Field(examples=["HT-NO-0412"])


T = TypeVar("T")


def _page_example(schema: dict[str, Any], cls: type) -> None:
    """Page[X]'s example: one X (from X's own example) and a cursor."""
    args = getattr(cls, "__pydantic_generic_metadata__", {}).get("args") or ()
    extra = getattr(args[0], "model_config", {}).get("json_schema_extra") if args else None
    examples = extra.get("examples") if isinstance(extra, dict) else None
    if examples:
        schema["examples"] = [{"items": examples[:1], "next_cursor": "eyJjIjoiSFQtTk8tMDQxMiJ9"}]


class Page(BaseModel, Generic[T]):
    """One page of a list; pass `next_cursor` back as `cursor` for the next."""

    model_config = ConfigDict(json_schema_extra=_page_example)

    items: list[T]
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` for the next page; null at the end."
    )


SCHOOL_YEAR_EXAMPLE: dict[str, Any] = {
    "label": "2025/26",
    "reference_date": "2025-11-15",
    "window_opens": "2025-11-01T00:00:00+00:00",
    "window_closes": "2026-03-31T23:59:59+00:00",
    "reopened_until": None,
}


class SchoolYearBase(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [SCHOOL_YEAR_EXAMPLE]})

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
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"year": 2025, **SCHOOL_YEAR_EXAMPLE, "is_open": True}]}
    )

    year: int = Field(description="Calendar year the school year starts in (2025 = 2025/26).")
    is_open: bool = Field(description="Whether returns may be written now.")


EDUCATION_LEVEL_EXAMPLE: dict[str, Any] = {
    "name": "Primary",
    "sequence": 1,
    "entrance_age": 6,
    "duration": 6,
    "grades": ["P1", "P2", "P3", "P4", "P5", "P6"],
}


class EducationLevelBase(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [EDUCATION_LEVEL_EXAMPLE]})

    name: str = Field(examples=["Primary"])
    sequence: int = Field(strict=True, ge=0, le=1000, description="Order of the level (0 = first).")
    entrance_age: int = Field(strict=True, ge=0, le=30, examples=[6])
    duration: int = Field(strict=True, ge=1, le=15, examples=[6])
    grades: list[str] = Field(min_length=1, examples=[["P1", "P2", "P3", "P4", "P5", "P6"]])

    @model_validator(mode="after")
    def _grades_match_duration(self) -> "EducationLevelBase":
        if len(self.grades) != self.duration:
            raise ValueError(f"{len(self.grades)} grades given for a duration of {self.duration}")
        return self


class EducationLevelPublic(EducationLevelBase):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"code": "primary", **EDUCATION_LEVEL_EXAMPLE}]}
    )

    code: str = Field(examples=["primary"])


class PopulationRow(BaseModel):
    unit: str = Field(examples=["HT-NO-LIM"])
    year: Year
    age: int = Field(strict=True, ge=0, le=120, examples=[6])
    sex: str = Field(pattern="^[FM]$", examples=["F"])
    value: Count = Field(examples=[1520])


class PopulationUpsert(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "rows": [
                        {"unit": "HT-NO-LIM", "year": 2025, "age": 6, "sex": "F", "value": 1520},
                        {"unit": "HT-NO-LIM", "year": 2025, "age": 6, "sex": "M", "value": 1497},
                    ]
                }
            ]
        }
    )

    rows: list[PopulationRow] = Field(min_length=1, max_length=100_000)


class PopulationCounts(BaseModel):
    """What a population upload changed."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"created": 2, "updated": 0, "unchanged": 0}]}
    )

    created: int
    updated: int
    unchanged: int


class PopulationCell(BaseModel):
    age: int = Field(examples=[6])
    sex: str = Field(examples=["F"])
    value: int = Field(examples=[1520])


class PopulationPublic(BaseModel):
    """Population of a unit and everything below it, summed by single age and sex."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "unit": "HT-NO",
                    "year": 2025,
                    "rows": [
                        {"age": 6, "sex": "F", "value": 21480},
                        {"age": 6, "sex": "M", "value": 21932},
                    ],
                }
            ]
        }
    )

    unit: str = Field(examples=["HT-NO"])
    year: int = Field(examples=[2025])
    rows: list[PopulationCell]
