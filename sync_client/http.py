"""The client's only link to the server: HTTP with httpx, retried with tenacity.

Network errors, timeouts, 429, 503 and other 5xx are retried with exponential backoff and jitter,
honouring Retry-After; any other 4xx is final and raised as `ApiError`."""

import gzip
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
)

from sync_client import __version__


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts per request, first and largest wait, total time per request."""

    attempts: int = 10
    initial: float = 0.5
    max_wait: float = 60.0
    max_retry_after: float = 300.0
    total: float = 900.0


class ApiError(Exception):
    """A final answer from the server that is not a success (not retried)."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.problem = problem
        super().__init__(f"{status} {problem.get('title', '')}: {problem.get('detail', '')}")


class Unreachable(Exception):
    """The server could not be reached (after every retry)."""


class _Transient(Exception):
    """A status worth retrying; carries Retry-After (seconds) when the server gave one."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.retry_after = _retry_after(response.headers.get("retry-after"))
        super().__init__(f"HTTP {response.status_code}")


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        import datetime as dt

        when = parsedate_to_datetime(value)
        return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, _Transient | httpx.TransportError)


class _Wait:
    """Exponential backoff with jitter, but never shorter than the server's Retry-After."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.expo = wait_exponential_jitter(
            multiplier=policy.initial, max=policy.max_wait, jitter=policy.initial
        )

    def __call__(self, state: RetryCallState) -> float:
        wait = float(self.expo(state))
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Transient) and exc.retry_after is not None:
            wait = max(wait, min(exc.retry_after, self.policy.max_retry_after))
        return wait


def problem_of(resp: httpx.Response) -> dict[str, Any]:
    try:
        data = resp.json()
    except ValueError:
        return {"status": resp.status_code, "title": resp.reason_phrase, "detail": resp.text[:500]}
    return data if isinstance(data, dict) else {"status": resp.status_code, "detail": str(data)}


def gzip_body(body: bytes) -> bytes:
    """gzip at the highest level: district connections are slow, laptops are not."""
    return gzip.compress(body, compresslevel=9, mtime=0)


class Http:
    """One server, one token; every call retried as the policy says."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        lang: str = "en",
        device_id: str | None = None,
        policy: RetryPolicy | None = None,
        timeout: float = 60.0,
        on_retry: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] | None = None,
        keepalive: bool = True,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {
            "Accept-Encoding": "gzip",
            "Accept-Language": lang,
            "User-Agent": f"emis-sync/{__version__}",
        }
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if device_id:
            headers["X-Device-Id"] = device_id
        self.client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers=headers,
            timeout=timeout,
            limits=httpx.Limits(max_keepalive_connections=20 if keepalive else 0),
            transport=transport,
        )
        self.policy = policy or RetryPolicy()
        self.on_retry = on_retry
        self.sleep = sleep
        self.requests = 0

    def close(self) -> None:
        self.client.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        retry: bool = True,
        content: bytes | None = None,
        data: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Send one request (again and again while the failure is transient); return a 2xx
        response or raise ApiError (final 4xx) or Unreachable."""

        def once() -> httpx.Response:
            self.requests += 1
            resp = self.client.request(
                method, path, content=content, data=data, params=params, headers=headers
            )
            if resp.status_code == 429 or resp.status_code >= 500:
                raise _Transient(resp)
            return resp

        def before_sleep(state: RetryCallState) -> None:
            if self.on_retry and state.outcome is not None:
                self.on_retry(str(state.outcome.exception()))

        p = self.policy
        kwargs: dict[str, Any] = {}
        if self.sleep is not None:
            kwargs["sleep"] = self.sleep
        retrying = Retrying(
            stop=stop_after_attempt(p.attempts if retry else 1) | stop_after_delay(p.total),
            wait=_Wait(p),
            retry=retry_if_exception(_transient),
            before_sleep=before_sleep,
            reraise=True,
            **kwargs,
        )
        try:
            resp = retrying(once)
        except _Transient as exc:
            raise ApiError(exc.response.status_code, problem_of(exc.response)) from exc
        except httpx.TransportError as exc:
            raise Unreachable(f"{type(exc).__name__}: {exc}") from exc
        if resp.status_code >= 400:
            raise ApiError(resp.status_code, problem_of(resp))
        return resp

    def get_json(self, path: str, **kwargs: Any) -> Any:
        return orjson.loads(self.request("GET", path, **kwargs).content)

    def post_json_gzip(self, path: str, body: bytes) -> Any:
        """POST a JSON body compressed with gzip (same bytes on every retry)."""
        return self.post_gzipped(path, gzip_body(body))

    def post_gzipped(self, path: str, packed: bytes) -> Any:
        """POST a JSON body already compressed with gzip_body (same bytes on every retry)."""
        resp = self.request(
            "POST",
            path,
            content=packed,
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )
        return orjson.loads(resp.content)
