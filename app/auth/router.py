"""Auth endpoints: the OAuth2 password flow and who-am-I."""

from typing import Annotated

from fastapi import APIRouter, Form

from app.auth import service
from app.auth.deps import CurrentUser
from app.auth.schemas import MePublic, TokenPublic
from app.core.deps import SettingsDep, UowDep
from app.core.problem_docs import problem_responses

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post(
    "/token",
    response_model=TokenPublic,
    summary="Exchange a username and password for a bearer token",
    responses=problem_responses(
        401, s401="Unknown user or wrong password (the same answer for both)."
    ),
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {
                    "example": {"username": "clerk.nord", "password": "s3cret-pass"}
                }
            }
        }
    },
)
def login(
    uow: UowDep,
    settings: SettingsDep,
    username: Annotated[str, Form(examples=["clerk.nord"])],
    password: Annotated[str, Form(examples=["s3cret-pass"])],
) -> TokenPublic:
    token = service.issue_session_token(uow, username, password, settings.session_token_minutes)
    return TokenPublic(access_token=token, expires_in=settings.session_token_minutes * 60)


@router.get("/me", response_model=MePublic, summary="Who the token belongs to")
def me(user: CurrentUser) -> MePublic:
    return MePublic(username=user.username, role=user.role, unit=user.unit_code)
