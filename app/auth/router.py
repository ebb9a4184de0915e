"""Auth endpoints: the OAuth2 password flow, who-am-I, and the audit trail (administrators)."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query

from app.auth import service
from app.auth.deps import authorize
from app.auth.permissions import Permission
from app.auth.schemas import AuditEventPublic, AuditPage, MePublic, TokenPublic
from app.core.audit import AuditFilter, list_events
from app.core.deps import PUBLIC, SessionDep, SettingsDep, UowDep
from app.core.media import FORM_BODY
from app.core.paging import CursorQuery, decode_cursor, encode_cursor
from app.core.principal import Principal
from app.core.problem_docs import problem_responses

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
audit_router = APIRouter(prefix="/api/v1", tags=["audit"])

Whoami = Annotated[Principal, Depends(authorize(Permission.whoami))]
AuditReader = Annotated[Principal, Depends(authorize(Permission.read_audit))]


@router.post(
    "/token",
    response_model=TokenPublic,
    summary="Exchange a username and password for a bearer token",
    dependencies=[PUBLIC, FORM_BODY],
    responses=problem_responses(
        401,
        415,
        429,
        s401="Unknown user or wrong password (the same answer for both).",
        s415="The body is not `application/x-www-form-urlencoded`.",
        s429="Too many failed sign-ins for this user or from this address: wait `Retry-After` "
        "seconds (the wait doubles with each further failure, up to 15 minutes).",
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
def me(user: Whoami) -> MePublic:
    return MePublic(username=user.username, role=user.role, unit=user.unit_code)


@audit_router.get(
    "/audit",
    response_model=AuditPage,
    summary="The audit trail: every write and sign-in, newest first (administrators)",
    description="Each event names who (user, token), when, from where (address, device), what "
    "(`action`, `target`) and what changed (`detail`: ids and changed field names, never "
    "whole payloads). `action` ending in `.` matches a family (`login.`); `target` ending in "
    "`*` matches a prefix.",
    responses=problem_responses(400, 403, s403="Only administrators read the audit trail."),
)
def get_audit(
    session: SessionDep,
    _admin: AuditReader,
    user: Annotated[
        str | None, Query(max_length=64, description="Only this user's events.")
    ] = None,
    action: Annotated[
        str | None,
        Query(max_length=40, pattern=r"^[a-z_.]+$", examples=["login.failed", "login."]),
    ] = None,
    target: Annotated[str | None, Query(max_length=200, examples=["DM-000001"])] = None,
    since: Annotated[datetime | None, Query(description="RFC 3339, inclusive.")] = None,
    until: Annotated[datetime | None, Query(description="RFC 3339, exclusive.")] = None,
    cursor: CursorQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditPage:
    before = None
    if cursor:
        before = decode_cursor(cursor, {"b": int})["b"]
    flt = AuditFilter(username=user, action=action, target=target, since=since, until=until)
    rows = list_events(session, flt, before_id=before, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage(
        items=[AuditEventPublic.model_validate(r, from_attributes=True) for r in rows],
        next_cursor=encode_cursor({"b": rows[-1].id}) if more and rows else None,
    )
