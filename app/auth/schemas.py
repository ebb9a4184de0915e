"""API shapes for auth."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class TokenPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"access_token": "emis_s_3q…", "token_type": "bearer", "expires_in": 28800}
            ]
        }
    )
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds until the token expires.")


class MePublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"username": "clerk.nord", "role": "clerk", "unit": "DM-R01-D001"}]
        }
    )
    username: str = Field(examples=["clerk.nord"])
    role: str = Field(
        description="admin | analyst | reviewer | clerk (what the token may do).",
        examples=["clerk"],
    )
    unit: str = Field(
        description="Code of the admin unit that is the caller's area.", examples=["DM-R01-D001"]
    )


class AuditEventPublic(BaseModel):
    """One event of the audit trail."""

    id: int
    at: datetime = Field(description="When it happened (RFC 3339, UTC).")
    username: str = Field(description="Who (empty for the system).", examples=["admin"])
    token_id: int | None = Field(description="The token the request used.")
    device: str = Field(description="The device it came from, when known.")
    address: str = Field(description="The network address it came from (empty: the CLI).")
    action: str = Field(examples=["school.update"])
    target: str = Field(examples=["DM-000001"])
    detail: dict[str, Any] = Field(description="Ids and the names of changed fields.")


class AuditPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "id": 812,
                            "at": "2026-03-02T10:15:04Z",
                            "username": "admin",
                            "token_id": 14,
                            "device": "",
                            "address": "10.2.0.17",
                            "action": "school.update",
                            "target": "DM-000001",
                            "detail": {"id": 1, "fields": ["name", "status"]},
                        }
                    ],
                    "next_cursor": "eyJiIjo4MTJ9",
                }
            ]
        }
    )

    items: list[AuditEventPublic]
    next_cursor: str | None
