"""Liveness and readiness."""

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from app.core.deps import PUBLIC
from app.core.errors import problem
from app.core.migrate import schema_problem
from app.core.problem_docs import problem_responses

router = APIRouter(tags=["health"])


class HealthStatus(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok"}]})

    status: Literal["ok"]


class ReadyStatus(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ready"}]})

    status: Literal["ready"]


@router.get(
    "/health",
    dependencies=[PUBLIC],
    response_model=HealthStatus,
    summary="Liveness: the process answers; touches nothing",
)
def health() -> HealthStatus:
    return HealthStatus(status="ok")


@router.get(
    "/ready",
    dependencies=[PUBLIC],
    response_model=ReadyStatus,
    summary="Readiness: the database answers and its schema is at the latest migration",
    responses=problem_responses(
        503, s503="Database unreachable or its schema is not at the latest migration."
    ),
)
def ready(request: Request) -> JSONResponse:
    settings = request.app.state.settings
    issue = schema_problem(request.app.state.engine, settings.effective_database_url)
    if issue:
        return problem(503, "Not ready", issue, "unavailable", instance="/ready")
    return JSONResponse({"status": "ready"})
