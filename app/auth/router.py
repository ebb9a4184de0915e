"""Auth endpoints: the OAuth2 password flow and who-am-I."""

from typing import Annotated

from fastapi import APIRouter, Form

from app.auth import service
from app.auth.deps import CurrentUser
from app.auth.schemas import MePublic, TokenPublic
from app.core.deps import SettingsDep, UowDep
from app.core.media import FORM_BODY
from app.core.problem_docs import problem_responses

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post(
    "/token",
    response_model=TokenPublic,
    summary="Exchange a username and password for a bearer token",
    dependencies=[FORM_BODY],
    responses=problem_responses(
        401,
        415,
        s401="Unknown user or wrong password (the same answer for both).",
        s415="The body is not `application/x-www-form-urlencoded`.",
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
    username: Annotated[str, Form(max_length=200, examples=["clerk.nord"])],
    password: Annotated[str, Form(max_length=1024, examples=["s3cret-pass"])],
) -> TokenPublic:
    token = service.issue_session_token(uow, username, password, settings.session_token_minutes)
    return TokenPublic(access_token=token, expires_in=settings.session_token_minutes * 60)


@router.get("/me", response_model=MePublic, summary="Who the token belongs to")
def me(user: CurrentUser) -> MePublic:
    return MePublic(username=user.username, role=user.role, unit=user.unit_code)
