"""Sync endpoints: push, pull, config (API.md, fixed contract)."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from app.core.body import json_body
from app.core.deps import SettingsDep, UowDep
from app.core.errors import BadRequest, InvalidInput, PayloadTooLarge
from app.core.lang import Lang
from app.core.media import JSON_BODY
from app.core.paging import CURSOR_MAX, CURSOR_PATTERN
from app.core.problem_docs import problem_responses
from app.core.text import text_problem
from app.core.types import utcnow
from app.sync import pull as pull_service
from app.sync import push as push_service
from app.sync.permissions import ConfigReader, Puller, Pusher
from app.sync.schemas import PUSH_EXAMPLE, PullResponse, PushRequest, PushResponse, SyncConfig

router = APIRouter(prefix="/api/v1/sync", tags=["sync"])


def _refuse_nul(body: bytes) -> None:
    if b"\\u0000" in body:
        # PostgreSQL cannot store NUL in text; no census value needs one.
        raise BadRequest(
            "The request contains a NUL character (\\u0000); remove it and send again.",
            [{"code": "NUL", "path": "body", "message": "NUL character"}],
        )


@router.post(
    "/push",
    response_model=PushResponse,
    summary="Push census returns (exactly once per item id)",
    description="Each item is checked and gets `applied`, `duplicate`, `conflict` or `rejected`; "
    "each stands alone, and results are sent only after they are committed. Bodies may be gzip "
    "(`Content-Encoding: gzip`). Over `max_items` or `max_bytes`: 413 and nothing stored.",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": PushRequest.model_json_schema(
                        ref_template="#/components/schemas/{model}"
                    ),
                    "example": PUSH_EXAMPLE,
                }
            },
        }
    },
    dependencies=[JSON_BODY],
    responses=problem_responses(
        400,
        403,
        413,
        415,
        s400="The body is not JSON, not valid gzip, or holds a NUL character; nothing stored.",
        s403="Only clerks and administrators push, and only with their own device id.",
        s413="Too many items or bytes (see GET /api/v1/sync/config); nothing stored.",
        s415="The body is not `application/json`, or its Content-Encoding is not gzip.",
    ),
)
async def push(
    request: Request, settings: SettingsDep, user: Pusher, lang: Lang, uow: UowDep
) -> PushResponse:
    # The body guard (app.core.body) capped it at sync_max_bytes, inflated and parsed it.
    _refuse_nul(await request.body())
    data: Any = json_body(request)
    try:
        req = PushRequest.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(
            "The push request is not valid.",
            [
                {
                    "code": str(e["type"]).upper(),
                    "path": "body." + ".".join(str(p) for p in e["loc"]),
                    "message": e["msg"],
                }
                for e in exc.errors()
            ],
        ) from exc
    if len(req.items) > settings.sync_max_items:
        raise PayloadTooLarge(
            f"{len(req.items)} items sent; at most {settings.sync_max_items} per request."
        )

    results = await run_in_threadpool(
        push_service.push, uow, user, req.device_id, req.items, request.app.state.forms, lang
    )
    return PushResponse(results=results)  # the unit of work committed inside push()


@router.get(
    "/pull",
    response_model=PullResponse,
    summary="Pull changes after a cursor",
    responses=problem_responses(410, s410="The cursor cannot be honoured; pull again without one."),
)
def pull(
    uow: UowDep,
    user: Puller,
    request: Request,
    lang: Lang,
    cursor: Annotated[
        str | None,
        Query(
            description="From the previous pull; none = from the start. A cursor this server "
            "did not make, or cannot honour, is 410: pull again without one.",
            json_schema_extra={"pattern": CURSOR_PATTERN, "maxLength": CURSOR_MAX},
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> PullResponse:
    device = request.headers.get("x-device-id")
    # The audit trail names the device: a name, not a payload.
    if device and (len(device) > 100 or text_problem(device)):
        raise InvalidInput(
            "X-Device-Id must be a device name of at most 100 characters.",
            [{"code": "BAD_DEVICE_ID", "path": "header.x-device-id", "message": device[:100]}],
        )
    # A read writes nothing: the device is not touched (when a token was last used is kept
    # on the token itself, see auth.service.note_token_use).
    changes, next_cursor, has_more = pull_service.pull(uow.reader, user, cursor, limit, lang)
    return PullResponse(changes=changes, cursor=next_cursor, has_more=has_more)


@router.get("/config", response_model=SyncConfig, summary="Limits and server time for clients")
def config(settings: SettingsDep, _user: ConfigReader) -> SyncConfig:
    return SyncConfig(
        max_items=settings.sync_max_items, max_bytes=settings.sync_max_bytes, server_time=utcnow()
    )
