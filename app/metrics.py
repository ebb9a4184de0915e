"""GET /metrics: Prometheus text format, process counters plus figures read from the database."""

import hmac
import os
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy.orm import Session, sessionmaker

from app.auth.deps import authorize, get_current_user
from app.auth.permissions import Permission
from app.core.deps import SettingsDep, UowDep
from app.core.problem_docs import problem_responses
from app.returns.service import count_by_status
from app.sync.devices import oldest_device_sync

router = APIRouter(tags=["health"])
_bearer = HTTPBearer(auto_error=False)
_admin_check = authorize(Permission.read_metrics)


def metrics_reader(
    uow: UowDep,
    settings: SettingsDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """The scrape token (EMIS_METRICS_TOKEN) or a token whose role holds metrics:read: the
    figures tell how many returns each status has, which is not for everyone."""
    given = creds.credentials if creds else ""
    if settings.metrics_token and given and hmac.compare_digest(given, settings.metrics_token):
        return
    _admin_check(get_current_user(uow, creds))


metrics_reader.permission = Permission.read_metrics  # type: ignore[attr-defined]


class _DatabaseCollector:
    """Figures that must agree across worker processes come from the database at scrape time."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def collect(self) -> Iterator[Metric]:
        with self.factory() as session:
            by_status = count_by_status(session)
            oldest = oldest_device_sync(session)
        g = GaugeMetricFamily("emis_returns", "Returns by status.", labels=["status"])
        for status, n in by_status:
            g.add_metric([status], n)
        yield g
        yield GaugeMetricFamily(
            "emis_oldest_device_push_age_seconds",
            "Seconds since the least recently pushing device last pushed.",
            value=oldest if oldest is not None else 0.0,
        )


@router.get(
    "/metrics",
    summary="Prometheus metrics (the scrape token or an administrator's token)",
    response_class=Response,
    dependencies=[Depends(metrics_reader)],
    responses=problem_responses(401, 403, s403="Only administrators read the metrics."),
)
def metrics(request: Request) -> Response:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY

        registry = REGISTRY
        extra = CollectorRegistry()
        extra.register(_DatabaseCollector(request.app.state.db.reader))
        return Response(
            generate_latest(registry) + generate_latest(extra), media_type=CONTENT_TYPE_LATEST
        )
    registry.register(_DatabaseCollector(request.app.state.db.reader))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
