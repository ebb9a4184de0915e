"""API shapes for returns."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

FINDING_EXAMPLE = {
    "code": "REP_LE_ENR",
    "path": "values.repeaters[grade=P1,sex=F]",
    "message": "More repeaters (12) than pupils (10) in P1, F",
    "severity": "error",
}


class Finding(BaseModel):
    code: str = Field(examples=["REP_LE_ENR"])
    path: str = Field(examples=["values.repeaters[grade=P1,sex=F]"])
    message: str
    severity: str | None = Field(None, examples=["error"])


class ReturnPublic(BaseModel):
    form: str = Field(examples=["annual_school_census"])
    form_version: int = Field(examples=[1])
    year: int = Field(examples=[2025])
    school: str = Field(examples=["HT-NO-0412"])
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
    items: list[ReturnSummary]
    next_cursor: str | None
