"""One error hierarchy, rendered as RFC 9457 problem+json everywhere."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://emis.example.org/problems/"
log = logging.getLogger("emis.errors")


class AppError(Exception):
    """A failure the caller can act on; subclasses fix status, type and title."""

    status = 400
    type = "bad-request"
    title = "Bad request"

    def __init__(
        self,
        detail: str,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.headers = headers


class BadRequest(AppError):
    pass


class InvalidInput(AppError):
    status = 422
    type = "invalid-input"
    title = "Invalid input"


class Unauthorized(AppError):
    status = 401
    type = "unauthorized"
    title = "Not authenticated"

    def __init__(self, detail: str = "Missing, expired or unknown token.") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(AppError):
    status = 403
    type = "forbidden"
    title = "Forbidden"


class NotFound(AppError):
    status = 404
    type = "not-found"
    title = "Not found"


class Conflict(AppError):
    status = 409
    type = "conflict"
    title = "Conflict"


class Gone(AppError):
    status = 410
    type = "gone"
    title = "Gone"


class PayloadTooLarge(AppError):
    status = 413
    type = "payload-too-large"
    title = "Payload too large"


class ServiceUnavailable(AppError):
    status = 503
    type = "unavailable"
    title = "Service unavailable"


def problem(
    status: int,
    title: str,
    detail: str,
    type_: str = "about:blank",
    errors: list[dict[str, Any]] | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Build one problem+json response."""
    body: dict[str, Any] = {
        "type": type_ if type_ == "about:blank" else PROBLEM_BASE + type_,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


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


_STATUS_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    410: "Gone",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


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
        title = _STATUS_TITLES.get(exc.status_code, "Error")
        detail = exc.detail if isinstance(exc.detail, str) else title
        return problem(
            exc.status_code,
            title,
            detail,
            instance=request.url.path,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(OperationalError)
    async def _database_down(request: Request, exc: OperationalError) -> JSONResponse:
        log.error("database error on %s %s: %s", request.method, request.url.path, exc.orig)
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
    async def _unstorable(request: Request, exc: DataError) -> JSONResponse:
        log.warning("unstorable value on %s %s: %s", request.method, request.url.path, exc.orig)
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
            instance=request.url.path,
        )
