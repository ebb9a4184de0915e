"""`emis serve`: run the HTTP API."""

import os
import tempfile
from typing import Annotated

import typer

from app.cli.common import console, fail
from app.core.config import get_settings
from app.core.db import make_engine

# uvicorn's httptools protocol, answering what it cannot parse as problem+json
# (app/core/edge.py); named, not imported, so other commands do not load uvicorn.
HTTP_PROTOCOL = "app.core.edge:ProblemHttpToolsProtocol"


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option(help="Worker processes (use PostgreSQL for more than 1).")
    ] = 1,
) -> None:
    """Run the HTTP server (refuses to start without a good EMIS_SECRET_KEY, or on a schema that
    is not at the latest migration)."""
    import uvicorn

    from app.core.logging import setup_logging
    from app.core.migrate import schema_problem

    settings = get_settings()
    issue = settings.secret_problem()
    if issue:
        fail(issue, "For a demo that needs no configuration, run `emis demo` instead.")
    engine = make_engine(settings.effective_database_url)
    issue = schema_problem(engine, settings.effective_database_url)
    engine.dispose()
    if issue:
        fail(issue)
    setup_logging(settings.log_level, settings.log_json)
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Counters from every worker process are summed at /metrics.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="emis-metrics-")
    console.print(f"Serving on http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    uvicorn.run(
        "app.asgi:app",
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        # Requests uvicorn cannot parse are refused as problem+json too (app/core/edge.py).
        http=HTTP_PROTOCOL,
    )
