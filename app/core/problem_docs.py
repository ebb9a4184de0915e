"""How errors are documented in OpenAPI: the Problem schema, examples, and `problem_responses`
for routes; `document_problems` makes /openapi.json tell the truth about every error."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.core.errors import _STATUS_TITLES, PROBLEM_BASE, PROBLEM_JSON, status_type

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
        "/api/v1/schools/DM-000001",
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
    400: "Bad request: a body that is not valid JSON (or gzip), a cursor this server did not "
    "issue, a NUL character in the URL or a control character in a header (any operation).",
    401: "Missing, expired or unknown token.",
    403: "The token is valid but its role or area does not allow this.",
    404: "Nothing with this code inside your area.",
    409: "Conflicts with what is stored.",
    410: "Gone.",
    413: "The body is over the size limit (after gzip inflation); nothing was done.",
    415: "The body's Content-Type or Content-Encoding is not one this endpoint takes (JSON, "
    "optionally gzip; the login form takes application/x-www-form-urlencoded).",
    422: "Invalid input: each bad field is named in `errors` ({code, path, message}).",
    503: "The database did not answer or is not at the latest migration; nothing was done. "
    "Retry later.",
}
_PROBLEM_REF = "#/components/schemas/Problem"


def problem_content(status: int) -> dict[str, Any]:
    """OpenAPI `content` for an error response: problem+json, the Problem schema, an example."""
    example = PROBLEM_EXAMPLES.get(status) or _example(
        status, _STATUS_TITLES.get(status, "Error"), status_type(status), "…", "/api/v1/…"
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
      (all of /api/v1, and /ready) documents 503;
    - every operation documents 400: the server refuses a NUL in the URL or a control
      character in a header before any route (app/main.py).
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
                # RefuseNulInUrl answers 400 to a NUL in any path or query parameter.
                responses.setdefault("400", {"description": PROBLEM_DESCRIPTIONS[400]})
            if op.get("requestBody"):
                responses.setdefault("413", {"description": PROBLEM_DESCRIPTIONS[413]})
                responses.setdefault("415", {"description": PROBLEM_DESCRIPTIONS[415]})
            # Any request: a NUL character in the URL, a control character in a header.
            responses.setdefault("400", {"description": PROBLEM_DESCRIPTIONS[400]})
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
