"""One error hierarchy, rendered as RFC 9457 problem+json everywhere."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://emis.example.org/problems/"
log = logging.getLogger("emis.errors")


# ------------------------------------------------------------------ the documented shape


class FieldProblem(BaseModel):
    """One bad field of a request."""

    code: str = Field(description="Machine-readable reason.", examples=["UNKNOWN_UNIT"])
    path: str = Field(
        description="Where: the source (body, query, path, header) then the field.",
        examples=["body.unit"],
    )
    message: str = Field(examples=["No admin unit has this code."])


def _example(
    status: int, title: str, type_: str, detail: str, instance: str, **extra: Any
) -> dict[str, Any]:
    return {
        "type": PROBLEM_BASE + type_,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        **extra,
    }


PROBLEM_EXAMPLES: dict[int, dict[str, Any]] = {
    400: _example(
        400,
        "Bad request",
        "bad-request",
        "The cursor is not one this server issued; start again without a cursor.",
        "/api/v1/schools",
        errors=[{"code": "BAD_CURSOR", "path": "query.cursor", "message": "unknown cursor"}],
    ),
    401: _example(
        401,
        "Not authenticated",
        "unauthorized",
        "Missing, expired or unknown token.",
        "/api/v1/auth/me",
    ),
    403: _example(
        403,
        "Forbidden",
        "forbidden",
        "School 'DM-000042' lies outside your area (DM-R01-D001).",
        "/api/v1/schools/DM-000042",
    ),
    404: _example(
        404, "Not found", "not-found", "No school has the code 'XX-1'.", "/api/v1/schools/XX-1"
    ),
    409: _example(
        409,
        "Conflict",
        "conflict",
        "School 'DM-000042' has returns; set its status to closed instead.",
        "/api/v1/schools/DM-000042",
    ),
    410: _example(
        410,
        "Gone",
        "gone",
        "This cursor cannot be honoured; pull again without a cursor.",
        "/api/v1/sync/pull",
    ),
    413: _example(
        413,
        "Payload too large",
        "payload-too-large",
        "600 items sent; at most 500 per request.",
        "/api/v1/sync/push",
    ),
    422: _example(
        422,
        "Invalid input",
        "invalid-input",
        "The request has 2 invalid field(s): body.ownership, body.unit.",
        "/api/v1/schools/HT-NO-0412",
        errors=[
            {
                "code": "ENUM",
                "path": "body.ownership",
                "message": "Input should be 'public', 'private', 'community' or 'faith_based'",
            },
            {"code": "MISSING", "path": "body.unit", "message": "Field required"},
        ],
    ),
    503: _example(
        503,
        "Service unavailable",
        "unavailable",
        "The database did not answer or the work could not be completed; nothing was "
        "acknowledged. Try again shortly.",
        "/api/v1/sync/push",
    ),
}


class Problem(BaseModel):
    """RFC 9457 problem details: the body of every error this server sends."""

    model_config = ConfigDict(json_schema_extra={"examples": [PROBLEM_EXAMPLES[422]]})

    type: str = Field(
        description="URI naming the kind of problem (about:blank when it is only the status).",
        examples=[PROBLEM_BASE + "invalid-input"],
    )
    title: str = Field(description="Short summary of the kind.", examples=["Invalid input"])
    status: int = Field(description="The HTTP status code.", examples=[422])
    detail: str = Field(description="What went wrong this time, for a person to read.")
    instance: str | None = Field(None, description="The path of the request.")
    errors: list[FieldProblem] | None = Field(
        None, description="Every bad field, where there are several."
    )


PROBLEM_DESCRIPTIONS: dict[int, str] = {
    400: "Bad request, e.g. a cursor this server did not issue.",
    401: "Missing, expired or unknown token.",
    403: "The token is valid but its role or area does not allow this.",
    404: "Nothing with this code inside your area.",
    409: "Conflicts with what is stored.",
    410: "Gone.",
    413: "Payload too large.",
    422: "Invalid input: each bad field is named in `errors` ({code, path, message}).",
    503: "The database did not answer or is not at the latest migration; nothing was done. "
    "Retry later.",
}
_PROBLEM_REF = "#/components/schemas/Problem"


def problem_content(status: int) -> dict[str, Any]:
    """OpenAPI `content` for an error response: problem+json, the Problem schema, an example."""
    example = PROBLEM_EXAMPLES.get(status) or _example(
        status, _STATUS_TITLES.get(status, "Error"), "about:blank", "…", "/api/v1/…"
    )
    return {PROBLEM_JSON: {"schema": {"$ref": _PROBLEM_REF}, "example": example}}


def problem_responses(*statuses: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: problem+json for each status. Describe one specially with
    `problem_responses(403, 404, s403="Administrators only.")`."""
    return {
        s: {
            "description": descriptions.get(f"s{s}") or PROBLEM_DESCRIPTIONS.get(s, "Error."),
            "content": problem_content(s),
        }
        for s in statuses
    }


# Lists narrowed by `unit` to a part of the caller's area (schools, returns).
AREA_FILTERED_LIST = problem_responses(
    400,
    403,
    404,
    s403="`unit` lies outside your area.",
    s404="No admin unit has the code given as `unit`.",
)


def document_problems(spec: dict[str, Any]) -> dict[str, Any]:
    """Make the OpenAPI document tell the truth about errors, in one place:

    - every 4xx/5xx response is `application/problem+json` with the Problem schema and an
      example (routes only need to name the status and, if they like, a description);
    - FastAPI's default 422 (HTTPValidationError, application/json) becomes a Problem, and
      every operation that takes parameters or a body documents 422;
    - operations that need a token document 401, and everything that touches the database
      (all of /api/v1, and /ready) documents 503.
    """
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem_schema.pop("$defs", {}))
    schemas["Problem"] = problem_schema
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            if method not in {"get", "put", "post", "delete", "patch"}:
                continue
            responses = op.setdefault("responses", {})
            if op.get("parameters") or op.get("requestBody"):
                responses.setdefault("422", {"description": PROBLEM_DESCRIPTIONS[422]})
            if op.get("requestBody"):
                responses.setdefault("400", {"description": "The body is not valid JSON."})
            if "{" in path:
                responses.setdefault("404", {"description": PROBLEM_DESCRIPTIONS[404]})
            if op.get("security"):
                responses.setdefault("401", {"description": PROBLEM_DESCRIPTIONS[401]})
            if path.startswith("/api/") or path == "/ready":
                responses.setdefault("503", {"description": PROBLEM_DESCRIPTIONS[503]})
            for code, response in responses.items():
                if not code.isdigit() or int(code) < 400:
                    continue
                if code == "422" and response.get("description") == "Validation Error":
                    response["description"] = PROBLEM_DESCRIPTIONS[422]
                response["content"] = problem_content(int(code))
            op["responses"] = dict(sorted(responses.items()))
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    return spec


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
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            # Starlette names only the first route that matched the path; list every method.
            headers = {**(headers or {}), "Allow": ", ".join(_allowed_methods(request))}
        return problem(exc.status_code, title, detail, instance=request.url.path, headers=headers)

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
            instance=request.url.path,
        )
