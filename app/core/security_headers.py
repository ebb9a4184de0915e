"""Security headers on every response: one pure-ASGI middleware, wrapped around the whole app
(outside Starlette's ServerErrorMiddleware, so 500s, admission-control 503s and every problem
response carry them too).

A response that sets one of these headers itself keeps its own value: /docs sends the CSP its
Swagger UI needs, static files keep their own caching."""

import base64
import hashlib
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# JSON needs nothing from a browser: no scripts, no styles, no frames.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def static_security_headers() -> list[tuple[bytes, bytes]]:
    """The headers every response carries, whatever the settings."""
    return [
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (b"content-security-policy", API_CSP.encode("ascii")),
        (b"cache-control", b"no-store"),
    ]


def docs_csp(html: str) -> str:
    """The CSP of the Swagger UI page: its scripts and styles from /static, its inline start-up
    script by hash (so no 'unsafe-inline' for scripts), the spec fetched from this server."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in re.findall(r"<script>(.*?)</script>", html, flags=re.DOTALL)
    )
    return (
        f"default-src 'none'; script-src 'self' {hashes}; "
        # Swagger UI's React components set style attributes.
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )


# Static files (Swagger UI's scripts) may be cached; everything else is answered for one caller.
CACHEABLE_PREFIXES = ("/static/",)


class SecurityHeaders:
    """ASGI middleware: adds the security headers a response does not set itself."""

    def __init__(self, app: ASGIApp, hsts_seconds: int = 0) -> None:
        self.app = app
        self.headers = static_security_headers()
        if hsts_seconds > 0:
            self.headers.append(
                (b"strict-transport-security", f"max-age={hsts_seconds}".encode("ascii"))
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = scope.get("path", "").startswith(CACHEABLE_PREFIXES)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in self.headers:
                    if name in present or (cacheable and name == b"cache-control"):
                        continue
                    headers.append((name, value))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
