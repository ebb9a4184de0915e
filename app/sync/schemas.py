"""API shapes for sync (see API.md: push, pull, config)."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.core.bounds import MAX_INT, Instant, Year
from app.core.text import Code, HumanText
from app.registry.schemas import SCHOOL_EXAMPLE
from app.returns.schemas import RETURN_EXAMPLE, Finding, ReturnPublic

# The largest standard form has under 1,000 cells (enrolment by grade, sex and age: 14 x 2 x 23);
# an item with more is not a census return, and would only cost the server time to check.
MAX_CELLS_PER_ITEM = 5_000

PUSH_EXAMPLE: dict[str, Any] = {
    "device_id": "laptop-dde-nord-1",
    "items": [
        {
            "id": "6f1c0b7e-3f7a-4b1e-9a51-7d2f3c0e9b11",
            "form": "annual_school_census",
            "form_version": 1,
            "year": 2025,
            "school": "DM-000001",
            "base_revision": 0,
            "values": {
                "enrolment": [{"grade": "P1", "sex": "F", "age": 6, "value": 31}],
                "has_electricity": True,
            },
            "captured_at": "2026-03-02T10:15:00+00:00",
        }
    ],
}


class PushItem(BaseModel):
    """One change: a school's return as the clerk left it, made once and kept across retries."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(
        pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
        description="UUID made once per change by the client.",
    )
    form: Code
    form_version: int = Field(strict=True, ge=1, le=MAX_INT)
    year: Year
    school: Code
    base_revision: int = Field(
        strict=True,
        ge=0,
        le=MAX_INT,
        description="The revision the clerk edited (0 for a first return).",
    )
    # Any JSON here: the check engine itself reports values that are not an object
    # (NOT_AN_OBJECT, with the clerk's message), exactly as the offline client does.
    values: Any = Field(
        description="The return's values: an object of data element codes (see the form); at "
        f"most {MAX_CELLS_PER_ITEM} cells.",
        json_schema_extra={"type": "object", "additionalProperties": True},
    )
    captured_at: Instant | None = Field(
        None,
        description="When the clerk made the change: RFC 3339 with a time zone; a time without "
        "one, or one that is no real instant, rejects this item alone.",
    )

    @field_validator("id")
    @classmethod
    def _one_form(cls, value: str) -> str:
        # Ids are compared case-insensitively: one stored form, lower case.
        return value.lower()

    @field_validator("values", mode="before")
    @classmethod
    def _bounded(cls, value: Any) -> Any:
        if isinstance(value, dict):
            cells = sum(len(v) if isinstance(v, list) else 1 for v in value.values())
        else:
            cells = len(value) if isinstance(value, list) else 0
        if cells > MAX_CELLS_PER_ITEM:
            raise ValueError(f"holds {cells} cells; at most {MAX_CELLS_PER_ITEM} per item")
        return value


class PushRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [PUSH_EXAMPLE]})

    device_id: Annotated[str, HumanText(100)]
    items: list[Any] = Field(description="Push items (see PushItem); each stands alone.")


class PushResult(BaseModel):
    id: str | None
    status: Literal["applied", "duplicate", "conflict", "rejected"]
    revision: int | None = None
    return_status: str | None = None
    errors: list[Finding] = Field(default_factory=list)
    warnings: list[Finding] = Field(default_factory=list)
    current: ReturnPublic | None = None


class PushResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "results": [
                        {
                            "id": "6f1c0b7e-3f7a-4b1e-9a51-7d2f3c0e9b11",
                            "status": "applied",
                            "revision": 1,
                            "return_status": "submitted",
                            "errors": [],
                            "warnings": [],
                            "current": None,
                        }
                    ]
                }
            ]
        }
    )

    results: list[PushResult]


class SyncConfig(BaseModel):
    """Limits a client must respect, and the server's clock (district laptops' clocks drift)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "max_items": 200,
                    "max_bytes": 8388608,
                    "server_time": "2026-03-02T10:15:00+00:00",
                    "api_version": "1",
                }
            ]
        }
    )

    max_items: int
    max_bytes: int
    server_time: datetime
    api_version: str = "1"


class ChangeOut(BaseModel):
    type: Literal["admin_unit", "school", "form", "school_year", "return"]
    op: Literal["upsert", "delete"]
    key: str
    data: dict[str, Any] | None


class PullResponse(BaseModel):
    """Changes after the cursor, oldest first; pull again with `cursor` while `has_more`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "changes": [
                        {
                            "type": "school",
                            "op": "upsert",
                            "key": SCHOOL_EXAMPLE["code"],
                            "data": SCHOOL_EXAMPLE,
                        },
                        {
                            "type": "return",
                            "op": "upsert",
                            "key": "annual_school_census/2025/DM-000001",
                            "data": RETURN_EXAMPLE,
                        },
                        {"type": "school", "op": "delete", "key": "DM-000999", "data": None},
                    ],
                    "cursor": "eyJlIjoiM2Y1YSIsInMiOjEyMzR9",
                    "has_more": False,
                }
            ]
        }
    )

    changes: list[ChangeOut]
    cursor: str
    has_more: bool
