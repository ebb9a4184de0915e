"""API shapes for releases."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.text import Code, HumanText


class ReleaseCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"form": "annual_school_census", "year": 2025, "note": "Census 2025/26."}]
        },
    )

    form: Code = "annual_school_census"
    year: int = Field(ge=1900, le=2200, strict=True)
    note: Annotated[str, HumanText(500, multiline=True)] | None = None


SUMMARY_EXAMPLE: dict[str, Any] = {
    "id": 3,
    "form": "annual_school_census",
    "year": 2025,
    "number": 2,
    "created_at": "2026-05-02T09:00:00Z",
    "note": "Corrections from DM-R02.",
    "digest": "5f1c…",
    "coverage": {"returns": 598, "schools_expected": 600, "approved_at_the_top": 598},
}


class ReleaseSummary(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [SUMMARY_EXAMPLE]})

    id: int
    form: str
    year: int
    number: int = Field(description="1, 2, … per form and year; a release never changes.")
    created_at: datetime
    note: str
    digest: str = Field(description="SHA-256 of the release's figures and returns.")
    coverage: dict[str, Any]


class ReleasePublic(ReleaseSummary):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **SUMMARY_EXAMPLE,
                    "returns": [["DM-000001", 2], ["DM-000002", 1]],
                    "indicators": [
                        {
                            "unit": "DM",
                            "unit_name": "Demoland",
                            "level": 0,
                            "indicator": "GER",
                            "education_level": "primary",
                            "disaggregation": {},
                            "value": 98.2,
                            "numerator": 51234,
                            "denominator": 52170,
                            "coverage": {"schools_expected": 600, "schools_reported": 598},
                        }
                    ],
                    "aggregates": {"enrolment": []},
                }
            ]
        }
    )

    returns: list[list[Any]] = Field(description="[school, revision] the figures came from.")
    indicators: list[dict[str, Any]]
    aggregates: dict[str, list[dict[str, Any]]]


class ReleaseList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [SUMMARY_EXAMPLE]}]})

    items: list[ReleaseSummary]


class ReleaseChanges(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "release": 2,
                    "previous": 1,
                    "returns_changed": ["DM-000017"],
                    "changes": [
                        {
                            "unit": "DM-R01-D001",
                            "indicator": "GER",
                            "education_level": "primary",
                            "disaggregation": {},
                            "before": 91.4,
                            "after": 92.0,
                        }
                    ],
                }
            ]
        }
    )

    release: int
    previous: int | None
    returns_changed: list[str]
    changes: list[dict[str, Any]]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://stats.ministry.example/hooks/emis",
                    "secret": "a-long-shared-secret-of-the-subscriber",
                    "events": ["release.published"],
                }
            ]
        },
    )

    url: str = Field(
        max_length=500, pattern=r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[!-~]*)?$", strict=True
    )
    secret: str = Field(
        min_length=16, max_length=200, pattern=r"^[!-~]+$", description="Signs each body (HMAC)."
    )
    events: list[Literal["release.published"]] = Field(
        default=["release.published"], min_length=1, max_length=10
    )


class WebhookPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "url": "https://stats.ministry.example/hooks/emis",
                    "events": ["release.published"],
                    "active": True,
                    "created_at": "2026-05-02T09:00:00Z",
                }
            ]
        }
    )

    id: int
    url: str
    events: list[str]
    active: bool
    created_at: datetime


class WebhookList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "id": 1,
                            "url": "https://stats.ministry.example/hooks/emis",
                            "events": ["release.published"],
                            "active": True,
                            "created_at": "2026-05-02T09:00:00Z",
                        }
                    ]
                }
            ]
        }
    )

    items: list[WebhookPublic]


class AttemptPublic(BaseModel):
    at: datetime
    status_code: int | None
    error: str
    duration_ms: int


class DeliveryPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 7,
                    "event": "release.published",
                    "status": "delivered",
                    "attempts": [
                        {
                            "at": "2026-05-02T09:00:01Z",
                            "status_code": 503,
                            "error": "HTTP 503",
                            "duration_ms": 40,
                        },
                        {
                            "at": "2026-05-02T09:00:31Z",
                            "status_code": 200,
                            "error": "",
                            "duration_ms": 35,
                        },
                    ],
                    "next_attempt_at": "2026-05-02T09:00:31Z",
                    "delivered_at": "2026-05-02T09:00:31Z",
                }
            ]
        }
    )

    id: int
    event: str
    status: str
    attempts: list[AttemptPublic]
    next_attempt_at: datetime
    delivered_at: datetime | None


class DeliveryList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "id": 7,
                            "event": "release.published",
                            "status": "pending",
                            "attempts": [],
                            "next_attempt_at": "2026-05-02T09:00:00Z",
                            "delivered_at": None,
                        }
                    ]
                }
            ]
        }
    )

    items: list[DeliveryPublic]


class RedeliveryPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"id": 7, "status": "pending", "next_attempt_at": "2026-05-02T09:10:00Z"}]
        }
    )

    id: int
    status: str
    next_attempt_at: datetime
