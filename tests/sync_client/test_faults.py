"""Exactly once through a hostile network: a proxy faults 30 % of connections at every point of
an exchange, and a server killed with SIGKILL in the middle of a push."""

import threading
import time
from pathlib import Path

import pytest

from tests.sync_client.conftest import MODES, make_client
from tests.sync_client.helpers import assert_exactly_once, demo_returns, write_json

pytestmark = pytest.mark.slow


def test_500_returns_through_a_proxy_faulting_30_percent_of_connections(
    big_server, proxy_factory, tmp_path: Path
):
    proxy = proxy_factory(big_server.port, rate=0.3, seed=11)
    client = make_client(tmp_path / "home", proxy.base, big_server.token("admin"), keepalive=False)
    client.pull()
    wanted = demo_returns(client, 500)
    assert len(wanted) == 500
    report = client.import_file(write_json(tmp_path / "r.json", big_server.year, wanted))
    assert report.ok, report.problems[:3]
    ids = {r["push_id"] for r in client.store.outbox()}
    summary = client.push()

    assert client.outbox_size() == 0
    assert summary.count("applied") + summary.count("duplicate") == 500
    # every kind of fault happened, and some batches reached the server twice
    assert set(proxy.faults) == set(MODES), proxy.faults
    assert summary.count("duplicate") > 0
    stored = big_server.stored()
    assert_exactly_once(client, stored, wanted)
    assert {revs[0][2] for revs in stored.values()} == ids  # the ids made at import time
    client.close()


def test_server_killed_mid_push_and_restarted(big_server, proxy_factory, tmp_path: Path):
    proxy = proxy_factory(big_server.port)
    client = make_client(tmp_path / "home", proxy.base, big_server.token("admin"))
    client.pull()
    wanted = demo_returns(client, 300, seed=2)
    assert client.import_file(write_json(tmp_path / "r.json", big_server.year, wanted)).ok
    pushes: list[bytes] = []
    killed = threading.Event()

    def on_request(line: bytes) -> None:
        # SIGKILL while the fifth batch is in the server's hands
        if line.startswith(b"POST /api/v1/sync/push"):
            pushes.append(line)
            if len(pushes) == 5:
                time.sleep(0.01)
                big_server.kill()
                killed.set()

    proxy.on_request = on_request
    done: dict[str, object] = {}

    def push() -> None:
        try:
            done["summary"] = client.push()
        except Exception as exc:  # reported below
            done["error"] = exc

    worker = threading.Thread(target=push)
    worker.start()
    assert killed.wait(60), (done, pushes, proxy.requests[-5:])
    assert 0 < len(big_server.stored()) < 300, "the kill landed in the middle of the push"
    time.sleep(1.0)
    big_server.start()
    worker.join(120)
    assert "error" not in done, done.get("error")
    assert client.outbox_size() == 0
    assert_exactly_once(client, big_server.stored(), wanted)
    client.close()
