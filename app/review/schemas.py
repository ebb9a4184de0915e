"""API shapes for review and approval."""

from pydantic import BaseModel, ConfigDict, Field


class ApproveBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"revision": 2, "comment": "Checked."}]}
    )

    revision: int | None = Field(
        None, ge=1, description="The revision you reviewed; 409 if another is current now."
    )
    comment: str | None = Field(None, max_length=2000)


class SendBackBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"revision": 2, "comment": "P3 enrolment is lower than repeaters."}]
        },
    )

    revision: int | None = Field(None, ge=1)
    comment: str = Field(
        min_length=1, max_length=2000, description="What the district must fix (the clerk sees it)."
    )


class ReopenBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"comment": "The school reported 2 classrooms twice."}]},
    )

    comment: str = Field(min_length=1, max_length=2000)


class ExcuseBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "Closed for reconstruction all year."}]},
    )

    reason: str = Field(min_length=1, max_length=500)


class UnitApproveBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"comment": "District DM-R01-D001 checked."}]},
    )

    comment: str | None = Field(None, max_length=2000)


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
