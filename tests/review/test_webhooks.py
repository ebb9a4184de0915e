"""Webhooks: written with the release, delivered at least once by the worker, signed, retried
with backoff, every attempt logged; a worker killed mid-delivery delivers after a restart."""

import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import orjson
import pytest

from app.core.uow import unit_of_work
from app.publishing.models import WebhookDelivery
from app.publishing.webhooks import deliver_one, verify
from tests.review.test_releases import _approve_valid, _release

SECRET = "subscriber-shared-secret-123"


class Subscriber:
    """A real HTTP server that fails its first `fail` requests (500), sleeps `slow` seconds on
    its first request, and keeps every request it got."""

    def __init__(self, fail: int = 0, slow: float = 0.0) -> None:
        self.fail, self.slow = fail, slow
        self.got: list[tuple[dict[str, str], bytes, int]] = []
        self.started = threading.Event()  # a request has arrived
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.started.set()
                n = len(outer.got)
                if n == 0 and outer.slow:
                    time.sleep(outer.slow)
                code = 500 if n < outer.fail else 200
                outer.got.append((dict(self.headers), body, code))
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()


def _subscribe(demo, url: str) -> int:
    resp = demo.client.post(
        "/api/v1/webhooks",
        json={"url": url, "secret": SECRET, "events": ["release.published"]},
        headers=demo.auth("admin"),
    )
    assert resp.status_code == 201, resp.text
    assert "secret" not in resp.json()
    return int(resp.json()["id"])


def test_a_release_is_delivered_signed_after_two_failures(demo, ladder, monkeypatch):
    monkeypatch.setenv("EMIS_WEBHOOK_BACKOFF_SECONDS", "0.2")
    sub = Subscriber(fail=2)
    try:
        hook = _subscribe(demo, sub.url)
        _approve_valid(demo, ladder)
        release = _release(demo, demo.auth("admin"), ladder["year"]).json()
        statuses = []
        with httpx.Client(timeout=5) as client:
            deadline = time.time() + 20
            while time.time() < deadline and "delivered" not in statuses:
                status = deliver_one(demo.db, client)
                if status is None:
                    time.sleep(0.1)
                else:
                    statuses.append(status)
        assert statuses == ["pending", "pending", "delivered"]
        assert [code for _, _, code in sub.got] == [500, 500, 200]
        headers, body, _ = sub.got[-1]
        assert headers["X-EMIS-Event"] == "release.published"
        assert verify(SECRET, headers["X-EMIS-Timestamp"], body, headers["X-EMIS-Signature"])
        assert not verify(
            "another-secret-entirely",
            headers["X-EMIS-Timestamp"],
            body,
            headers["X-EMIS-Signature"],
        )
        assert orjson.loads(body)["release"]["number"] == release["number"]
        # The same delivery each time (subscribers drop repeats by X-EMIS-Delivery).
        assert len({h["X-EMIS-Delivery"] for h, _, _ in sub.got}) == 1
        log = demo.client.get(
            f"/api/v1/webhooks/{hook}/deliveries", headers=demo.auth("admin")
        ).json()["items"]
        (delivery,) = log
        assert delivery["status"] == "delivered"
        assert [a["status_code"] for a in delivery["attempts"]] == [500, 500, 200]
        # The subscriber asks for it again: it comes again.
        again = demo.client.post(
            f"/api/v1/webhooks/deliveries/{delivery['id']}/redeliver", headers=demo.auth("admin")
        )
        assert again.status_code == 202
        with httpx.Client(timeout=5) as client:
            assert deliver_one(demo.db, client) == "delivered"
        assert len(sub.got) == 4
    finally:
        sub.close()


def test_no_release_no_delivery(demo, ladder):
    sub = Subscriber()
    try:
        _subscribe(demo, sub.url)
        assert _release(demo, demo.auth("admin"), ladder["year"]).status_code == 409
        with demo.factory() as s:
            assert s.query(WebhookDelivery).count() == 0
    finally:
        sub.close()


@pytest.mark.slow
def test_a_worker_killed_mid_delivery_delivers_after_restart(demo, ladder, tmp_path):
    sub = Subscriber(slow=4.0)
    try:
        _subscribe(demo, sub.url)
        _approve_valid(demo, ladder)
        assert _release(demo, demo.auth("admin"), ladder["year"]).status_code == 201
        env = {
            **os.environ,
            "EMIS_DATABASE_URL": demo.url,
            "EMIS_DATA_DIR": str(tmp_path),
            "EMIS_WEBHOOK_LEASE_SECONDS": "2",
        }
        cmd = [sys.executable, "-m", "app.cli", "worker", "--poll", "0.2"]
        first = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert sub.started.wait(30), "the worker never called"
        time.sleep(0.5)  # mid-delivery: the subscriber is still sleeping on it
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        with demo.factory() as s:
            (d,) = s.query(WebhookDelivery).all()
            assert d.status == "pending"  # the kill left it undelivered, under its lease
        second = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            deadline = time.time() + 30
            while time.time() < deadline:
                with demo.factory() as s:
                    (d,) = s.query(WebhookDelivery).all()
                    if d.status == "delivered":
                        break
                time.sleep(0.3)
            assert d.status == "delivered", second.stdout
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(10)
        assert len(sub.got) >= 1 and sub.got[-1][2] == 200
    finally:
        sub.close()


def test_the_outbox_row_is_written_with_the_release(demo, ladder):
    """Rolled back with the release: no notification of a release that does not exist."""
    sub = Subscriber()
    try:
        _subscribe(demo, sub.url)
        _approve_valid(demo, ladder)
        from app.publishing import service

        class Boom(Exception):
            pass

        try:
            with unit_of_work(demo.db) as uow:
                from app.auth.service import resolve_token

                principal, _ = resolve_token(uow.reader, demo.token("admin"))
                service.create_release(
                    uow, principal, form="annual_school_census", year=ladder["year"]
                )
                raise Boom
        except Boom:
            pass
        with demo.factory() as s:
            assert s.query(WebhookDelivery).count() == 0
    finally:
        sub.close()
