"""CORS, closed unless configured (EMIS_CORS_ORIGINS): Starlette's middleware with exactly the
configured origins, its refused preflights answered as problem+json like every other error."""

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from app.core.errors import problem

ALLOW_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
ALLOW_HEADERS = ["Authorization", "Content-Type", "Content-Encoding", "Accept-Language"]
# What a browser script may read of a response besides the simple headers.
EXPOSE_HEADERS = ["Retry-After", "Location", "Allow"]


class ProblemCORSMiddleware(CORSMiddleware):
    """Starlette's CORSMiddleware; a preflight it refuses gets problem+json, not plain text."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 400:
            return response
        refused = bytes(response.body).decode().removeprefix("Disallowed CORS ")
        headers = {
            k: v for k, v in response.headers.items() if k not in ("content-type", "content-length")
        }
        return problem(
            400,
            "Cross-origin request refused",
            f"This server does not allow the requested {refused} across origins.",
            "cors-refused",
            headers=headers,
        )
