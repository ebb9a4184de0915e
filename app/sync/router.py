"""Sync endpoints: push, pull, config (API.md, fixed contract)."""

import zlib
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from app.core.deps import SettingsDep, UowDep
from app.core.errors import BadRequest, InvalidInput, PayloadTooLarge
from app.core.lang import Lang
from app.core.problem_docs import problem_responses
from app.core.types import utcnow
from app.sync import pull as pull_service
from app.sync import push as push_service
from app.sync.permissions import ConfigReader, Puller, Pusher
from app.sync.schemas import PUSH_EXAMPLE, PullResponse, PushRequest, PushResponse, SyncConfig

router = APIRouter(prefix="/api/v1/sync", tags=["sync"])


async def _read_body(request: Request, max_bytes: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(
            f"The request is {declared} bytes; the limit is {max_bytes}. "
            "Send fewer items per request (see GET /api/v1/sync/config)."
        )
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise PayloadTooLarge(f"The request is over the limit of {max_bytes} bytes.")
    if request.headers.get("content-encoding", "").lower() == "gzip":
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            raw = inflater.decompress(bytes(body), max_bytes + 1)
        except zlib.error as exc:
            raise BadRequest("The body is not valid gzip.") from exc
        if len(raw) > max_bytes or inflater.unconsumed_tail:
            raise PayloadTooLarge(
                f"The uncompressed request is over the limit of {max_bytes} bytes."
            )
        body = bytearray(raw)
    if b"\\u0000" in body:
        # PostgreSQL cannot store NUL in text; no census value needs one.
        raise BadRequest(
            "The request contains a NUL character (\\u0000); remove it and send again."
        )
    return bytes(body)


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
    responses=problem_responses(
        400,
        403,
        413,
        s400="The body is not JSON, not valid gzip, or holds a NUL character; nothing stored.",
        s403="Only clerks and administrators push, and only with their own device id.",
        s413="Too many items or bytes (see GET /api/v1/sync/config); nothing stored.",
    ),
)
async def push(
    request: Request, settings: SettingsDep, user: Pusher, lang: Lang, uow: UowDep
) -> PushResponse:
    body = await _read_body(request, settings.sync_max_bytes)
    try:
        data: Any = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"The body is not valid JSON: {exc}.") from exc
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
    lang: Lang,
    cursor: Annotated[
        str | None,
        Query(description="From the previous pull; none = from the start."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> PullResponse:
    # A read writes nothing: the device is not touched (when a token was last used is kept
    # on the token itself, see auth.service.note_token_use).
    changes, next_cursor, has_more = pull_service.pull(uow.reader, user, cursor, limit, lang)
    return PullResponse(changes=changes, cursor=next_cursor, has_more=has_more)


@router.get("/config", response_model=SyncConfig, summary="Limits and server time for clients")
def config(settings: SettingsDep, _user: ConfigReader) -> SyncConfig:
    return SyncConfig(
        max_items=settings.sync_max_items, max_bytes=settings.sync_max_bytes, server_time=utcnow()
    )
