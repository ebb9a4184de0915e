"""Prometheus metrics for the operations view (multi-process safe when PROMETHEUS_MULTIPROC_DIR is set)."""

from collections.abc import Sequence
from typing import Any

from prometheus_client import Counter, Histogram

PUSH_ITEMS = Counter("emis_push_items_total", "Push items by result status.", ["status"])
PUSH_SECONDS = Histogram(
    "emis_push_seconds",
    "Time to check and store one push batch.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
PULL_SECONDS = Histogram(
    "emis_pull_seconds",
    "Time to answer one pull page.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)


def observe_push(results: Sequence[Any], seconds: float) -> None:
    for r in results:
        PUSH_ITEMS.labels(r.status).inc()
    PUSH_SECONDS.observe(seconds)


def observe_pull(seconds: float) -> None:
    PULL_SECONDS.observe(seconds)
