"""Webhooks: subscribers hear of published releases, signed, at least once.

When a release is made, one delivery per active subscriber to `release.published` is written to
the outbox (`webhook_delivery`) in the release's own transaction: no release without its
notifications, no notification of a release that rolled back. `emis worker` takes due
deliveries one at a time under a lease, POSTs them, logs every attempt, and on failure tries
again later with a doubling delay (base `EMIS_WEBHOOK_BACKOFF_SECONDS`, up to an hour, at most
`WEBHOOK_MAX_ATTEMPTS` attempts). A worker killed mid-delivery leaves the lease to expire, and
the next worker delivers again: a subscriber may get an event twice (use `X-EMIS-Delivery` to
drop repeats), never zero times.

Each POST carries:
- `X-EMIS-Event`: `release.published`; `X-EMIS-Delivery`: the delivery id;
- `X-EMIS-Timestamp`: Unix seconds when it was signed;
- `X-EMIS-Signature`: `sha256=` + hex HMAC-SHA256 with the subscription's secret over
  `<timestamp>.<body>` (the raw body bytes). Refuse timestamps more than 5 minutes old."""

import hashlib
import hmac
import os
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from app.core.audit import note_audit
from app.core.errors import InvalidInput, NotFound
from app.core.uow import Database, UnitOfWork, unit_of_work
from app.publishing.models import Release, WebhookAttempt, WebhookDelivery, WebhookSubscription

EVENTS = ("release.published",)
WEBHOOK_MAX_ATTEMPTS = 10
MAX_DELAY = timedelta(hours=1)


def backoff_base() -> float:
    return float(os.environ.get("EMIS_WEBHOOK_BACKOFF_SECONDS", "30"))


def lease() -> timedelta:
    return timedelta(seconds=float(os.environ.get("EMIS_WEBHOOK_LEASE_SECONDS", "120")))


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The X-EMIS-Signature value for a body."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str, timestamp: str, body: bytes, signature: str, now: float | None = None
) -> bool:
    """What a subscriber runs: the signature matches and the time stamp is fresh."""
    if abs((now or time.time()) - int(timestamp)) > 300:
        return False
    return hmac.compare_digest(sign(secret, int(timestamp), body), signature)


def subscribe(uow: UnitOfWork, url: str, secret: str, events: list[str]) -> WebhookSubscription:
    bad = [e for e in events if e not in EVENTS]
    if bad or not events:
        raise InvalidInput(
            f"Unknown event(s) {bad}; use {', '.join(EVENTS)}.",
            [{"code": "UNKNOWN_EVENT", "path": "events", "message": str(bad)}],
        )
    sub = WebhookSubscription(url=url, secret=secret, events=events, created_at=uow.now)
    uow.session.add(sub)
    uow.session.flush()
    note_audit(uow.session, "webhook.subscribe", url[:200], id=sub.id, events=events)
    return sub


def unsubscribe(uow: UnitOfWork, sub_id: int) -> None:
    sub = uow.session.get(WebhookSubscription, sub_id)
    if sub is None:
        raise NotFound(f"No webhook subscription {sub_id}.")
    sub.active = False
    uow.session.flush()
    note_audit(uow.session, "webhook.unsubscribe", sub.url[:200], id=sub_id)


def subscriptions(session: Session) -> list[WebhookSubscription]:
    return list(session.scalars(select(WebhookSubscription).order_by(col(WebhookSubscription.id))))


def release_body(release: Release) -> dict[str, Any]:
    return {
        "event": "release.published",
        "release": {
            "id": release.id,
            "form": release.form_code,
            "year": release.year,
            "number": release.number,
            "digest": release.digest,
            "created_at": release.created_at.isoformat(),
            "coverage": release.figures.get("coverage", {}),
            "url": f"/api/v1/releases/{release.id}",
        },
    }


def enqueue(session: Session, event: str, payload: dict[str, Any], now: datetime) -> int:
    """Write one delivery per active subscriber of the event (in the caller's transaction)."""
    body = orjson.dumps(payload).decode()
    n = 0
    for sub in subscriptions(session):
        if sub.active and event in sub.events:
            session.add(
                WebhookDelivery(
                    subscription_id=sub.id,  # type: ignore[arg-type]
                    event=event,
                    body=body,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
            n += 1
    session.flush()
    return n


def redeliver(uow: UnitOfWork, delivery_id: int) -> WebhookDelivery:
    """Send a delivery again (a subscriber lost it): it becomes due now."""
    d = uow.session.get(WebhookDelivery, delivery_id)
    if d is None:
        raise NotFound(f"No webhook delivery {delivery_id}.")
    d.status, d.next_attempt_at, d.leased_until = "pending", uow.now, None
    uow.session.flush()
    note_audit(uow.session, "webhook.redeliver", str(delivery_id))
    return d


def deliveries(session: Session, sub_id: int) -> list[tuple[WebhookDelivery, list[WebhookAttempt]]]:
    ds = list(
        session.scalars(
            select(WebhookDelivery)
            .where(col(WebhookDelivery.subscription_id) == sub_id)
            .order_by(col(WebhookDelivery.id))
        )
    )
    attempts: dict[int, list[WebhookAttempt]] = {}
    if ds:
        for a in session.scalars(
            select(WebhookAttempt)
            .where(col(WebhookAttempt.delivery_id).in_([d.id for d in ds]))
            .order_by(col(WebhookAttempt.id))
        ):
            attempts.setdefault(a.delivery_id, []).append(a)
    return [(d, attempts.get(d.id or 0, [])) for d in ds]


@dataclass
class _Claim:
    id: int
    url: str
    secret: str
    event: str
    body: str
    attempts: int


def _claim(db: Database) -> _Claim | None:
    """Take the oldest due delivery under a lease (its own short transaction)."""
    with unit_of_work(db) as uow:
        now = uow.now
        session = uow.session
        row = session.execute(
            select(WebhookDelivery, WebhookSubscription)
            .join(
                WebhookSubscription, col(WebhookSubscription.id) == WebhookDelivery.subscription_id
            )
            .where(
                col(WebhookDelivery.status) == "pending",
                col(WebhookDelivery.next_attempt_at) <= now,
                or_(
                    col(WebhookDelivery.leased_until).is_(None),
                    col(WebhookDelivery.leased_until) < now,
                ),
            )
            .order_by(col(WebhookDelivery.id))
            .limit(1)
        ).first()
        if row is None:
            return None
        d, sub = row
        took = session.execute(
            update(WebhookDelivery)
            .where(
                col(WebhookDelivery.id) == d.id,
                or_(
                    col(WebhookDelivery.leased_until).is_(None),
                    col(WebhookDelivery.leased_until) < now,
                ),
            )
            .values(leased_until=now + lease())
        )
        if not took.rowcount:  # type: ignore[attr-defined]  # another worker took it
            return None
        return _Claim(d.id, sub.url, sub.secret, d.event, d.body, d.attempts)  # type: ignore[arg-type]


def _record(db: Database, claim: _Claim, code: int | None, error: str, ms: int) -> str:
    ok = code is not None and 200 <= code < 300
    with unit_of_work(db) as uow:
        now = uow.now
        attempts = claim.attempts + 1
        uow.session.add(
            WebhookAttempt(
                delivery_id=claim.id, at=now, status_code=code, error=error[:500], duration_ms=ms
            )
        )
        if ok:
            values: dict[str, Any] = {"status": "delivered", "delivered_at": now}
        elif attempts >= WEBHOOK_MAX_ATTEMPTS:
            values = {"status": "failed"}
        else:
            delay = min(timedelta(seconds=backoff_base() * 2 ** (attempts - 1)), MAX_DELAY)
            values = {"next_attempt_at": now + delay}
        uow.session.execute(
            update(WebhookDelivery)
            .where(col(WebhookDelivery.id) == claim.id)
            .values(attempts=attempts, leased_until=None, last_error=error[:500], **values)
        )
        return str(values.get("status", "pending"))


def deliver_one(db: Database, client: httpx.Client) -> str | None:
    """Deliver the oldest due delivery; None when nothing is due. Returns its new status."""
    claim = _claim(db)
    if claim is None:
        return None
    body = claim.body.encode()
    ts = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "emis-census-webhooks/1",
        "X-EMIS-Event": claim.event,
        "X-EMIS-Delivery": str(claim.id),
        "X-EMIS-Timestamp": str(ts),
        "X-EMIS-Signature": sign(claim.secret, ts, body),
    }
    started = time.perf_counter()
    code: int | None = None
    error = ""
    try:
        resp = client.post(claim.url, content=body, headers=headers)
        code = resp.status_code
        if not 200 <= code < 300:
            error = f"HTTP {code}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"
    ms = round((time.perf_counter() - started) * 1000)
    return _record(db, claim, code, error, ms)


def run_worker(db: Database, *, once: bool = False, poll: float = 2.0, log: Any = None) -> int:
    """Deliver until stopped (or, with `once`, until nothing is due). Returns deliveries tried."""
    tried = 0
    with httpx.Client(timeout=httpx.Timeout(10.0), follow_redirects=False) as client:
        while True:
            status = deliver_one(db, client)
            if status is not None:
                tried += 1
                if log:
                    log(status)
                continue
            if once:
                return tried
            time.sleep(poll)
