"""API shapes for auth."""

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
