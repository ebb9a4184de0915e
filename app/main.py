"""The FastAPI application factory."""

import gc
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import swagger_ui_bundle
from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from app.auth.deps import document_rules
from app.auth.router import audit_router
from app.auth.router import router as auth_router
from app.core import derived
from app.core.admission import AdmissionControl
from app.core.body import RequestBodyGuard
from app.core.config import InsecureSecret, Settings, get_settings
from app.core.cors import ALLOW_HEADERS, ALLOW_METHODS, EXPOSE_HEADERS, ProblemCORSMiddleware
from app.core.db import make_engine
from app.core.deps import PUBLIC
from app.core.edge import DEFAULT_HEAD_LIMIT
from app.core.error_handlers import install_error_handlers
from app.core.errors import problem
from app.core.health import router as health_router
from app.core.migrate import schema_problem
from app.core.problem_docs import document_problems, problem_responses
from app.core.security_headers import SecurityHeaders, docs_csp
from app.core.uow import Database
from app.forms.router import router as forms_router
from app.forms.service import FormCache
from app.indicators.router import router as indicators_router
from app.metrics import router as metrics_router
from app.publishing.router import hooks as webhooks_router
from app.publishing.router import router as publishing_router
from app.registry.router import router as registry_router
from app.returns.router import router as returns_router
from app.review.router import router as review_router
from app.sync.router import router as sync_router
from app.web.reports import router as reports_router
from app.web.reports import warm_in_background
from app.web.router import STATIC_DIR as WEB_STATIC
from app.web.router import router as web_router

DESCRIPTION = """
The offline-first EMIS census server: district offices push annual school census returns,
the server checks and stores every revision, and the ministry reads aggregates and indicators.

Every error is RFC 9457 `application/problem+json`. Authenticate with `POST /api/v1/auth/token`
(or a device token) and send `Authorization: Bearer <token>`.
"""


# A control character (other than tab) cannot be in a header value (RFC 9110 §5.5); httptools
# refuses one before the app, h11 lets some through: refuse them here whichever server runs.
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


class RefuseNulInUrl:
    """A NUL character in a path or query cannot name anything; a URL or headers larger than the
    server reads are refused (app/core/edge.py's limit, kept here too because h11 applies its
    own only to a head that arrives in pieces); a control character in a header is malformed.
    Answer before any lookup."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        query = scope.get("query_string", b"")
        response = None
        if "\x00" in path or b"%00" in query:
            response = problem(
                400,
                "Bad request",
                "The URL contains a NUL character.",
                "bad-request",
                instance=path.replace("\x00", ""),
            )
        elif len(scope.get("raw_path", b"")) + len(query) > DEFAULT_HEAD_LIMIT:
            response = problem(
                414,
                "URI too long",
                f"The URL is longer than this server reads ({DEFAULT_HEAD_LIMIT} bytes). "
                "Nothing was done.",
                "uri-too-long",
            )
        elif sum(len(n) + len(v) + 4 for n, v in scope.get("headers", ())) > DEFAULT_HEAD_LIMIT:
            response = problem(
                431,
                "Request header fields too large",
                f"The request headers are larger than this server reads ({DEFAULT_HEAD_LIMIT} "
                "bytes). Nothing was done.",
                "headers-too-large",
            )
        elif any(_CONTROL.search(value) for _, value in scope.get("headers", ())):
            response = problem(
                400,
                "Malformed HTTP request",
                "A request header contains a control character. Nothing was done.",
                "malformed-request",
                instance=path,
            )
        if response is not None:
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _offline_docs(app: FastAPI) -> None:
    """Swagger UI at /docs from the packaged copy, not from a CDN."""
    app.mount(
        "/static/swagger-ui",
        StaticFiles(directory=swagger_ui_bundle.swagger_ui_path),
        name="swagger-ui",
    )

    @app.get("/docs", include_in_schema=False, dependencies=[PUBLIC])
    def docs() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} — API",
            swagger_js_url="/static/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/swagger-ui/favicon-32x32.png",
        )
        page.headers["Content-Security-Policy"] = docs_csp(bytes(page.body).decode())
        return page


def _install_openapi(app: FastAPI) -> None:
    """/openapi.json as FastAPI builds it, then every error documented as problem+json."""
    build = app.openapi
    done: list[int] = []

    def openapi() -> dict[str, Any]:
        spec = build()  # FastAPI caches it, and rebuilds when routes change
        if done != [id(spec)]:
            document_rules(app, spec, problem_responses)
            document_problems(spec)
            done[:] = [id(spec)]
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


def _security_headers_outermost(app: FastAPI, hsts_seconds: int) -> None:
    """Wrap the whole middleware stack, Starlette's ServerErrorMiddleware included (which
    `add_middleware` cannot reach), so every response, a 500 too, carries the headers."""
    build = app.build_middleware_stack

    def build_with_headers() -> ASGIApp:
        return SecurityHeaders(build(), hsts_seconds=hsts_seconds)

    app.build_middleware_stack = build_with_headers  # type: ignore[method-assign]


class SchemaNotReady(RuntimeError):
    """The database is not at the migration this code needs."""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for the given settings (the environment's by default)."""
    settings = settings or get_settings()
    issue = settings.secret_problem()
    if issue:
        raise InsecureSecret(issue)
    engine = make_engine(
        settings.effective_database_url,
        settings.pool_size,
        pool_timeout=settings.pool_timeout,
        sqlite_synchronous=settings.sqlite_synchronous,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.check_schema_on_start:
            issue = schema_problem(engine, settings.effective_database_url)
            if issue:
                raise SchemaNotReady(issue)
        if settings.warm_renderers:
            app.state.renderers_warm = warm_in_background()
        # What startup built (modules, the ORM's mappers, compiled forms) lives as long as the
        # process: out of the collector's sight, a collection during a push walks only what the
        # requests make (measured: the keeping of figures 15-20 % cheaper, BENCHMARKS.md).
        # Garbage is collected first, so none of it is frozen for good.
        gc.collect()
        gc.freeze()
        if derived.NO_KEEPERS:
            logging.getLogger("emis").warning(
                "EMIS_BENCH_NO_KEEPERS=1: pushes do not keep the indicator totals current "
                "(benchmarks only; run `emis indicators rebuild` before reading figures)"
            )
        yield
        engine.dispose()

    app = FastAPI(
        title="EMIS census server",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served below from local files: ministry networks are often offline
        redoc_url=None,
    )
    _offline_docs(app)
    app.state.settings = settings
    app.state.engine = engine
    app.state.db = Database(engine)
    app.state.forms = FormCache()
    # Level 6: a third of level 9's time for a few per cent more bytes (a national page is 1 MB).
    app.add_middleware(GZipMiddleware, minimum_size=1000, compresslevel=6)
    # Before routing, auth and parsing: no body costs more than its route's cap.
    app.add_middleware(
        RequestBodyGuard,
        max_bytes=settings.max_body_bytes,
        larger={"/api/v1/sync/push": settings.sync_max_bytes},
    )
    app.add_middleware(RefuseNulInUrl)
    # A request the server cannot take now is refused before anything else of the app runs.
    app.add_middleware(
        AdmissionControl,
        slots=settings.pool_size,
        queue=settings.queue_size,
        wait_seconds=settings.queue_wait_seconds,
    )
    if settings.cors_origins:
        # Closed unless configured: browsers on exactly these origins may call the API (a
        # preflight is answered here, before admission control).
        app.add_middleware(
            ProblemCORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=ALLOW_METHODS,
            allow_headers=ALLOW_HEADERS,
            expose_headers=EXPOSE_HEADERS,
        )
    _security_headers_outermost(app, settings.hsts_seconds)
    install_error_handlers(app)
    app.include_router(health_router)
    app.include_router(auth_router)
    app.include_router(audit_router)
    app.include_router(registry_router)
    app.include_router(forms_router)
    app.include_router(sync_router)
    app.include_router(returns_router)
    app.include_router(review_router)
    app.include_router(publishing_router)
    app.include_router(webhooks_router)
    app.include_router(indicators_router)
    app.include_router(metrics_router)
    # The dashboard: its pages, and its scripts and styles from the package (no CDN).
    app.mount("/static/web", StaticFiles(directory=WEB_STATIC), name="web-static")
    app.include_router(web_router)
    app.include_router(reports_router)
    _install_openapi(app)
    return app
