"""Liveness and readiness."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.core.errors import problem
from app.core.migrate import schema_problem

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    summary="Liveness: the process answers; touches nothing",
    responses={200: {"content": {"application/json": {"example": {"status": "ok"}}}}},
)
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/ready",
    summary="Readiness: the database answers and its schema is at the latest migration",
    responses={
        200: {"content": {"application/json": {"example": {"status": "ready"}}}},
        503: {"description": "Database unreachable or schema not at head (problem+json)."},
    },
)
def ready(request: Request) -> JSONResponse:
    settings = request.app.state.settings
    issue = schema_problem(request.app.state.engine, settings.effective_database_url)
    if issue:
        return problem(503, "Not ready", issue, "unavailable")
    return JSONResponse({"status": "ready"})
