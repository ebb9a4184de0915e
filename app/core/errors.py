"""One error hierarchy (`AppError`) and the one way to render a problem+json response."""

import logging
from typing import Any

from fastapi.responses import JSONResponse

log = logging.getLogger("emis.errors")
PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://emis.example.org/problems/"


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


class TooManyRequests(AppError):
    status = 429
    type = "too-many-requests"
    title = "Too many requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))})


class UnsupportedMediaType(AppError):
    status = 415
    type = "unsupported-media-type"
    title = "Unsupported media type"


class MalformedBody(AppError):
    """The body cannot be read as what its Content-Type or Content-Encoding says it is."""

    status = 400
    type = "malformed-body"
    title = "Malformed body"


class MalformedJson(MalformedBody):
    type = "malformed-json"
    title = "Malformed JSON"


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

# The problem type of an error known only by its status (Starlette's 404 and 405, a 500):
# every error names its kind (API.md), none is about:blank.
_STATUS_TYPES = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    410: "gone",
    413: "payload-too-large",
    414: "uri-too-long",
    415: "unsupported-media-type",
    422: "invalid-input",
    429: "too-many-requests",
    431: "headers-too-large",
    500: "internal-error",
    503: "unavailable",
}


def status_type(status: int) -> str:
    """The problem type named for a bare status code."""
    return _STATUS_TYPES.get(status, "bad-request" if status < 500 else "internal-error")
