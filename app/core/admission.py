"""Load shedding: admit no more requests at once than the database pool can serve, queue a few,
and answer the rest 503 with Retry-After before reading their bodies.

Without it, a burst of pushes takes every worker thread, each thread waits for a pooled
connection, and after the pool's timeout the requests fail with 500s (measured: 102 of 200).
With it, at most `slots` requests use the database at once (one connection each), up to
`queue` more wait their turn for at most `wait_seconds`, and every other request is told at
once to come back later. Clients retry 503 with backoff (API.md), so nothing is lost."""

import asyncio
import math
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.errors import problem

# Paths that never touch the database, or must answer even when it is saturated.
UNLIMITED = ("/health", "/docs", "/static/", "/openapi.json")


DRAIN_LIMIT = 64 * 1024 * 1024  # bytes of a refused body read and dropped, at most


async def drain_body(receive: Receive) -> None:
    """Read and drop what is left of the request body, so the client, still uploading, reads
    the 503 instead of a reset connection (the body is never parsed or kept)."""
    seen = 0
    while seen <= DRAIN_LIMIT:
        message = await receive()
        if message["type"] != "http.request":
            return
        seen += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


class AdmissionControl:
    """ASGI middleware: a counting gate with a bounded, time-limited queue."""

    def __init__(
        self,
        app: ASGIApp,
        slots: int,
        queue: int,
        wait_seconds: float,
        retry_after: int = 2,
    ) -> None:
        self.app = app
        self.slots = slots
        self.queue_limit = queue
        self.wait_seconds = wait_seconds
        self.retry_after = retry_after
        self._sem: asyncio.Semaphore | None = None
        self.in_flight = 0
        self.waiting = 0
        self.shed = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith(UNLIMITED):
            await self.app(scope, receive, send)
            return
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.slots)
        sem = self._sem
        if sem.locked() and self.waiting >= self.queue_limit:
            await self._refuse(scope, receive, send, "The server is at capacity.")
            return
        self.waiting += 1
        try:
            await asyncio.wait_for(sem.acquire(), timeout=self.wait_seconds)
        except TimeoutError:
            await self._refuse(
                scope, receive, send, "The server could not take this request in time."
            )
            return
        finally:
            self.waiting -= 1
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            sem.release()

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, why: str) -> None:
        self.shed += 1
        await drain_body(receive)
        # Spread the retries: the more are waiting, the later they come back.
        after = self.retry_after + math.ceil(self.waiting / max(self.slots, 1))
        response = problem(
            503,
            "Service unavailable",
            f"{why} Nothing was done; send the same request again after {after} seconds.",
            "overloaded",
            instance=scope.get("path"),
            headers={"Retry-After": str(after)},
        )
        await response(scope, receive, send)

    def stats(self) -> dict[str, Any]:
        """Figures for /metrics."""
        return {"in_flight": self.in_flight, "waiting": self.waiting, "shed": self.shed}
