"""A small thread-safe LRU map for figures kept per version of the data.

Keys carry the version of what the value was computed from (`indicators.service.data_version`,
the audit trail's last event, …), so a stale entry is never hit: it just ages out. Every cache
of this kind is off with EMIS_FIGURES_CACHE=0 (benchmarks measure both ways)."""

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

ENABLED = os.environ.get("EMIS_FIGURES_CACHE", "1") != "0"


class LruCache:
    def __init__(self, size: int = 256) -> None:
        self.size = size
        self.items: OrderedDict[Any, Any] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        if not ENABLED:
            return None
        with self.lock:
            hit = self.items.get(key)
            if hit is not None:
                self.items.move_to_end(key)
            return hit

    def put(self, key: Hashable, value: Any) -> None:
        if not ENABLED:
            return
        with self.lock:
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def get_or_build(self, key: Hashable, build: Callable[[], T]) -> T:
        """The value kept under key, or build() kept there (two threads may both build it once:
        the values are equal, the last one stays)."""
        hit: T | None = self.get(key)
        if hit is None:
            hit = build()
            self.put(key, hit)
        return hit
