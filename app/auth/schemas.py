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
    username: str
    role: str
    unit: str = Field(description="Code of the admin unit that is the caller's area.")
