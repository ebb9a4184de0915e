"""API shapes for the registry (reference data)."""

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.core.bounds import Count, Day, Instant, Year
from app.core.text import Attributes, Code, GradeCode, HumanText, LevelCode

MAX_LEVELS_PER_SCHOOL = 20


class Upsert(BaseModel):
    """A body an administrator sends: unknown fields are refused (a typo must not be ignored),
    but the read-only fields of what GET answered may be sent back and are ignored."""

    model_config = ConfigDict(extra="forbid")
    READ_ONLY: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _ignore_read_only(cls, data: Any) -> Any:
        if isinstance(data, dict) and cls.READ_ONLY:
            return {k: v for k, v in data.items() if k not in cls.READ_ONLY}
        return data


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
    name: str = Field(min_length=1, max_length=200, examples=["Region 1"])
    level_name: str = Field(min_length=1, max_length=64, examples=["region"])
    parent: str | None = Field(
        None, description="Code of the parent unit; null for the root.", examples=["DM"]
    )


class AdminUnitUpsert(Upsert, AdminUnitBase):
    READ_ONLY = ("code", "level", "path")
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "Region 1", "level_name": "region", "parent": "DM"}]
        },
    )

    name: Annotated[str, HumanText(200)] = Field(examples=["Region 1"])
    level_name: Annotated[str, HumanText(64)] = Field(examples=["region"])
    parent: Code | None = Field(
        None, description="Code of the parent unit; null for the root.", examples=["DM"]
    )


ADMIN_UNIT_EXAMPLE: dict[str, Any] = {
    "code": "DM-R01",
    "name": "Region 1",
    "level_name": "region",
    "parent": "DM",
    "level": 1,
    "path": ["DM", "DM-R01"],
}
SCHOOL_EXAMPLE: dict[str, Any] = {
    "code": "DM-000001",
    "name": "École Nationale de Limbé",
    "unit": "DM-R01-D001",
    "ownership": "public",
    "locality": "rural",
    "levels": ["primary"],
    "status": "open",
    "attributes": {},
}


class AdminUnitPublic(AdminUnitBase):
    model_config = ConfigDict(json_schema_extra={"examples": [ADMIN_UNIT_EXAMPLE]})

    code: str = Field(examples=["DM-R01"])
    level: int = Field(description="0 = national, 1 = region/department, 2 = district, …")
    path: list[str] = Field(description="Codes from the root down to this unit.")


class SchoolBase(BaseModel):
    name: str = Field(min_length=1, max_length=300, examples=["École Nationale de Limbé"])
    unit: str = Field(
        description="Code of the admin unit the school belongs to.", examples=["DM-R01-D001"]
    )
    ownership: Ownership
    locality: Locality | None = None
    levels: list[str] = Field(default_factory=list, examples=[["primary"]])
    status: SchoolStatus = SchoolStatus.open
    attributes: dict[str, Any] = Field(default_factory=dict)


class SchoolUpsert(Upsert, SchoolBase):
    READ_ONLY = ("code",)
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {k: v for k, v in SCHOOL_EXAMPLE.items() if k not in ("code", "attributes")}
            ]
        },
    )

    name: Annotated[str, HumanText(300)] = Field(examples=["École Nationale de Limbé"])
    unit: Code = Field(
        description="Code of the admin unit the school belongs to.", examples=["DM-R01-D001"]
    )
    levels: list[LevelCode] = Field(
        default_factory=list,
        max_length=MAX_LEVELS_PER_SCHOOL,
        description="Codes of education levels (see GET /api/v1/education-levels).",
        examples=[["primary"]],
    )
    attributes: Attributes = Field(default_factory=dict)


class SchoolPublic(SchoolBase):
    model_config = ConfigDict(json_schema_extra={"examples": [SCHOOL_EXAMPLE]})

    code: str = Field(examples=["DM-000001"])


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


class SchoolYearUpsert(Upsert, SchoolYearBase):
    """A school year as an administrator sends it: time stamps are RFC 3339 text with a zone."""

    READ_ONLY = ("year", "is_open")
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [SCHOOL_YEAR_EXAMPLE]})

    label: Annotated[str, HumanText(32)] = Field(examples=["2025/26"])
    reference_date: Day = Field(examples=["2025-11-15"])
    window_opens: Instant = Field(examples=["2025-11-01T00:00:00+00:00"])
    window_closes: Instant = Field(examples=["2026-03-31T23:59:59+00:00"])
    reopened_until: Instant | None = Field(None, description="Set by an administrator to reopen.")


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


class EducationLevelUpsert(Upsert, EducationLevelBase):
    READ_ONLY = ("code",)
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [EDUCATION_LEVEL_EXAMPLE]}
    )

    name: Annotated[str, HumanText(100)] = Field(examples=["Primary"])
    grades: list[GradeCode] = Field(
        min_length=1, max_length=15, examples=[["P1", "P2", "P3", "P4", "P5", "P6"]]
    )


class EducationLevelPublic(EducationLevelBase):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"code": "primary", **EDUCATION_LEVEL_EXAMPLE}]}
    )

    code: str = Field(examples=["primary"])


class PopulationRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit: Code = Field(examples=["DM-R01-D001"])
    year: Year
    age: int = Field(strict=True, ge=0, le=120, examples=[6])
    sex: str = Field(pattern="^[FM]$", examples=["F"])
    value: Count = Field(examples=[1520])


class PopulationUpsert(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "rows": [
                        {"unit": "DM-R01-D001", "year": 2025, "age": 6, "sex": "F", "value": 1520},
                        {"unit": "DM-R01-D001", "year": 2025, "age": 6, "sex": "M", "value": 1497},
                    ]
                }
            ]
        },
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
                    "unit": "DM-R01",
                    "year": 2025,
                    "rows": [
                        {"age": 6, "sex": "F", "value": 21480},
                        {"age": 6, "sex": "M", "value": 21932},
                    ],
                }
            ]
        }
    )

    unit: str = Field(examples=["DM-R01"])
    year: int = Field(examples=[2025])
    rows: list[PopulationCell]
