"""Exception handlers: every error the app can raise leaves as problem+json, never as a stack
trace."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app.core.errors import _STATUS_TITLES, AppError, problem, status_type

log = logging.getLogger("emis.errors")

# Starlette's and FastAPI's own errors, each with a problem type naming it.
_PARSE_FAILURES = ("There was an error parsing the body", "Invalid multipart data.")


def _loc_to_path(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = list(loc)
    # FastAPI prefixes the source ("body", "query", "path", "header"); keep it, it helps.
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + str(p)
    return out


def validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Turn pydantic's errors into {code, path, message} naming the field."""
    out = []
    for err in exc.errors():
        out.append(
            {
                "code": str(err.get("type", "invalid")).upper(),
                "path": _loc_to_path(err.get("loc", ())),
                "message": str(err.get("msg", "invalid value")),
            }
        )
    return out


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app accepts on this path (RFC 9110 §15.5.6)."""
    return [
        method
        for method in ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL
            for route in request.app.router.routes
        )
    ]


def install_error_handlers(app: FastAPI) -> None:
    """Every error the app can raise leaves as problem+json, never as a stack trace."""

    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONResponse:
        return problem(
            exc.status,
            exc.title,
            exc.detail,
            exc.type,
            exc.errors,
            instance=request.url.path,
            headers=exc.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errs = validation_errors(exc)
        if any(e["code"] == "JSON_INVALID" for e in errs):
            # The body guard parses JSON bodies first; this is FastAPI's own parse, same answer.
            return problem(
                400,
                "Malformed JSON",
                "The body is not valid JSON.",
                "malformed-json",
                [{**e, "path": "body"} for e in errs if e["code"] == "JSON_INVALID"],
                instance=request.url.path,
            )
        fields = ", ".join(e["path"] for e in errs[:5])
        return problem(
            422,
            "Invalid input",
            f"The request has {len(errs)} invalid field(s): {fields}.",
            "invalid-input",
            errs,
            instance=request.url.path,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        status = exc.status_code
        title = _STATUS_TITLES.get(status, "Error")
        detail = exc.detail if isinstance(exc.detail, str) else title
        type_ = status_type(status)
        headers = getattr(exc, "headers", None)
        if status == 404 and detail == "Not Found":
            detail = f"No route {request.url.path!r}; see /openapi.json for the API."
        if status == 405:
            # Starlette names only the first route that matched the path; list every method.
            allowed = _allowed_methods(request)
            headers = {**(headers or {}), "Allow": ", ".join(allowed)}
            detail = f"{request.method} is not allowed here; use {' or '.join(allowed)}."
        if status == 400 and detail in _PARSE_FAILURES:
            # FastAPI's answer when a form body cannot be parsed.
            title, type_ = "Malformed body", "malformed-body"
            detail = (
                "The body could not be parsed as its Content-Type says "
                f"({request.headers.get('content-type', 'none')[:80]})."
            )
        return problem(status, title, detail, type_, instance=request.url.path, headers=headers)

    @app.exception_handler(OperationalError)
    @app.exception_handler(SATimeoutError)  # no pooled connection free within pool_timeout
    async def _database_down(request: Request, exc: Exception) -> JSONResponse:
        log.error(
            "database error on %s %s: %s",
            request.method,
            request.url.path,
            getattr(exc, "orig", exc),
        )
        return problem(
            503,
            "Service unavailable",
            "The database did not answer or the work could not be completed; nothing was "
            "acknowledged. Try again shortly.",
            "unavailable",
            instance=request.url.path,
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(DataError)
    @app.exception_handler(OverflowError)  # SQLite's driver raises it for integers ≥ 2**63
    async def _unstorable(request: Request, exc: Exception) -> JSONResponse:
        cause = exc.orig if isinstance(exc, DataError) else exc
        log.warning("unstorable value on %s %s: %s", request.method, request.url.path, cause)
        return problem(
            422,
            "Invalid input",
            "A value in the request cannot be stored (for example a NUL character or a number "
            "out of range); nothing was changed.",
            "invalid-input",
            instance=request.url.path,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(
            500,
            "Internal server error",
            "The server failed to handle this request; it has been logged.",
            "internal-error",
            instance=request.url.path,
        )
