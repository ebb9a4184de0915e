"""API shapes for review and approval."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.core.text import HumanText

Comment = Annotated[str, HumanText(2000, multiline=True)]


class ApproveBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"revision": 2, "comment": "Checked."}]}
    )

    revision: int | None = Field(
        None,
        ge=1,
        le=2_147_483_647,
        strict=True,
        description="The revision you reviewed; 409 if another is current now.",
    )
    comment: Comment | None = None


class SendBackBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"revision": 2, "comment": "P3 enrolment is lower than repeaters."}]
        },
    )

    revision: int | None = Field(None, ge=1, le=2_147_483_647, strict=True)
    comment: Comment = Field(description="What the district must fix (the clerk sees it).")


class ReopenBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"comment": "The school reported 2 classrooms twice."}]},
    )

    comment: Comment


class ExcuseBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "Closed for reconstruction all year."}]},
    )

    reason: Annotated[str, HumanText(500, multiline=True)]


class UnitApproveBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"comment": "District DM-R01-D001 checked."}]},
    )

    comment: Comment | None = None


class UnitApprovalPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"unit": "DM-R01-D001", "level": 2, "approved": 48, "already": 0, "excused": 2}
            ]
        }
    )

    unit: str
    level: int = Field(description="The rung (admin level) that approved.")
    approved: int = Field(description="Returns approved now.")
    already: int = Field(description="Returns approved at this rung or above before.")
    excused: int = Field(description="Schools excused from this form and year.")


class LadderPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"levels": [2, 1, 0]}]})

    levels: list[int] = Field(description="Admin levels that approve, first rung first.")


class CompletenessRow(BaseModel):
    unit: str
    unit_name: str
    level: int
    expected: int = Field(description="Open schools of the unit and below.")
    received: int = Field(description="Expected schools with a return, whatever its status.")
    valid: int = Field(description="Received returns that pass the checks (not `invalid`).")
    approved: int = Field(description="Returns approved at any rung, or locked.")
    invalid: int
    returned: int = Field(description="Returns sent back by a reviewer, awaiting a revision.")
    excused: int = Field(description="Schools without a return that a reviewer excused.")
    on_time: int = Field(description="Returns whose first revision came before the window closed.")
    late: int = Field(description="Returns whose first revision came after the window closed.")
    reporting_rate: float | None = Field(description="received / expected, in %.")
    on_time_rate: float | None = Field(description="on_time / expected, in %.")
    missing: list[str] | None = Field(
        None, description="With `missing=true`: schools with neither a return nor an excuse."
    )


class CompletenessPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "form": "annual_school_census",
                    "year": 2025,
                    "window_closes": "2026-03-31T23:59:59Z",
                    "rows": [
                        {
                            "unit": "DM-R01-D001",
                            "unit_name": "District 1",
                            "level": 2,
                            "expected": 52,
                            "received": 50,
                            "valid": 48,
                            "approved": 40,
                            "invalid": 2,
                            "returned": 1,
                            "excused": 1,
                            "on_time": 45,
                            "late": 5,
                            "reporting_rate": 96.2,
                            "on_time_rate": 86.5,
                            "missing": ["DM-000031"],
                        }
                    ],
                }
            ]
        }
    )

    form: str
    year: int
    window_closes: datetime
    rows: list[CompletenessRow]
