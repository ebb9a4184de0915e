"""API shapes for returns."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

FINDING_EXAMPLE: dict[str, Any] = {
    "code": "REP_LE_ENR",
    "path": "values.repeaters[grade=P1,sex=F]",
    "message": "More repeaters (12) than pupils (10) in P1, F",
    "severity": "error",
}


VALUES_EXAMPLE: dict[str, Any] = {
    "enrolment": [{"grade": "P1", "sex": "F", "age": 6, "value": 31}],
    "repeaters": [{"grade": "P1", "sex": "F", "value": 2}],
    "has_electricity": True,
}
WARNING_EXAMPLE: dict[str, Any] = {
    "code": "PTR_HIGH",
    "path": "values.teachers",
    "message": "72 pupils per teacher; check the teacher count",
    "severity": "warning",
}
RETURN_EXAMPLE: dict[str, Any] = {
    "form": "annual_school_census",
    "form_version": 1,
    "year": 2025,
    "school": "DM-000001",
    "revision": 3,
    "status": "submitted",
    "values": VALUES_EXAMPLE,
    "errors": [],
    "warnings": [WARNING_EXAMPLE],
    "updated_at": "2026-03-02T10:17:41+00:00",
    "updated_by": "clerk.nord",
    "comments": [
        {
            "revision": 2,
            "status": "returned",
            "comment": "P1 girls look doubled; please check the register.",
            "user": "reviewer.nord",
            "at": "2026-02-20T09:00:00+00:00",
        }
    ],
}


class Finding(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [FINDING_EXAMPLE]})

    code: str = Field(examples=["REP_LE_ENR"])
    path: str = Field(examples=["values.repeaters[grade=P1,sex=F]"])
    message: str
    severity: str | None = Field(None, examples=["error"])


class ReturnPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [RETURN_EXAMPLE]})

    form: str = Field(examples=["annual_school_census"])
    form_version: int = Field(examples=[1])
    year: int = Field(examples=[2025])
    school: str = Field(examples=["DM-000001"])
    revision: int = Field(examples=[3])
    status: str = Field(
        examples=["submitted"], description="submitted | invalid | returned | approved | locked"
    )
    values: dict[str, Any]
    errors: list[Finding]
    warnings: list[Finding]
    updated_at: datetime
    updated_by: str | None = Field(
        None, description="Username of whoever made the current revision."
    )
    comments: list[dict[str, Any]] = Field(
        default_factory=list, description="Reviewers' comments, newest last."
    )
    approved_level: int | None = Field(
        None,
        description="While approved or locked: the admin level of the highest rung of the "
        "approval ladder that approved it (2 = district, 1 = region, 0 = national in the demo).",
    )


class RevisionPublic(BaseModel):
    revision: int
    form_version: int
    status: str = Field(description="The status this revision gave the return when it was applied.")
    values: dict[str, Any]
    errors: list[Finding]
    warnings: list[Finding]
    user: str | None
    device_id: str | None
    push_id: str | None
    captured_at: datetime | None
    received_at: datetime


class StatusChangePublic(BaseModel):
    revision: int
    from_status: str | None
    to_status: str
    comment: str | None
    user: str | None
    at: datetime


class HistoryPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "form": "annual_school_census",
                    "year": 2025,
                    "school": "DM-000001",
                    "revisions": [
                        {
                            "revision": 1,
                            "form_version": 1,
                            "status": "submitted",
                            "values": VALUES_EXAMPLE,
                            "errors": [],
                            "warnings": [WARNING_EXAMPLE],
                            "user": "clerk.nord",
                            "device_id": "laptop-dde-nord-1",
                            "push_id": "6f1c0b7e-3f7a-4b1e-9a51-7d2f3c0e9b11",
                            "captured_at": "2026-03-02T10:15:00+00:00",
                            "received_at": "2026-03-02T10:17:41+00:00",
                        }
                    ],
                    "status_changes": [
                        {
                            "revision": 1,
                            "from_status": None,
                            "to_status": "submitted",
                            "comment": None,
                            "user": "clerk.nord",
                            "at": "2026-03-02T10:17:41+00:00",
                        }
                    ],
                }
            ]
        }
    )

    form: str
    year: int
    school: str
    revisions: list[RevisionPublic]
    status_changes: list[StatusChangePublic]


class ReturnSummary(BaseModel):
    form: str
    form_version: int
    year: int
    school: str
    unit: str
    revision: int
    status: str
    updated_at: datetime


class ReturnPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "form": "annual_school_census",
                            "form_version": 1,
                            "year": 2025,
                            "school": "DM-000001",
                            "unit": "DM-R01-D001",
                            "revision": 3,
                            "status": "submitted",
                            "updated_at": "2026-03-02T10:17:41+00:00",
                        }
                    ],
                    "next_cursor": "eyJpIjo0MTJ9",
                }
            ]
        }
    )

    items: list[ReturnSummary]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )
