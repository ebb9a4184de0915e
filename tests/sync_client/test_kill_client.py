"""SIGKILL the client during import, push and pull; restart; sync: nothing lost, nothing twice."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sync_client import Client
from tests.sync_client.conftest import FAST, ROOT, make_client
from tests.sync_client.helpers import assert_exactly_once, demo_returns, write_json

pytestmark = pytest.mark.slow


def spawn(home: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "EMIS_SYNC_HOME": str(home)}
    return subprocess.Popen(
        [sys.executable, "-m", "sync_client.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(home: Path, *args: str) -> str:
    proc = spawn(home, *args)
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, (out, err)
    return out


def refs(home: Path) -> dict[tuple[str, str], str]:
    c = Client(home)
    rows = {(r[0], r[1]): r[2] for r in c.store.db.execute("SELECT type, key, data FROM ref")}
    c.close()
    return rows


def outbox(home: Path) -> int:
    c = Client(home)
    n = c.outbox_size()
    c.close()
    return n


def test_sigkill_during_import_push_and_pull(big_server, proxy_factory, tmp_path: Path):
    proxy = proxy_factory(big_server.port)
    token = big_server.token("admin")
    home = tmp_path / "laptop"
    c = make_client(home, proxy.base, token, policy=FAST)
    c.pull()
    wanted = demo_returns(c, 300, seed=3)
    c.close()
    data = write_json(tmp_path / "r.json", big_server.year, wanted)

    # import: time a full run elsewhere, then kill at points inside the run
    probe = tmp_path / "probe"
    import shutil

    shutil.copytree(home, probe)
    started = time.monotonic()
    finish(probe, "import", str(data), "--json")
    full = time.monotonic() - started
    # once as soon as the import's transaction writes its first page to the store's log
    wal = home / "store.db-wal"
    before = wal.stat().st_size if wal.exists() else 0
    proc = spawn(home, "import", str(data), "--json")
    while proc.poll() is None and not (wal.exists() and wal.stat().st_size > before):
        time.sleep(0.001)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    assert outbox(home) in (0, 300)
    # then at points of a run's length
    for share in (0.6, 0.9):
        proc = spawn(home, "import", str(data), "--json")
        time.sleep(full * share)
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        assert outbox(home) in (0, 300)  # all or nothing, never half
    finish(home, "import", str(data), "--json")
    assert outbox(home) == 300

    # push: killed while its fourth batch is in the server's hands
    pushes: list[bytes] = []
    proc = spawn(home, "push", "--json")

    def on_request(line: bytes) -> None:
        if line.startswith(b"POST /api/v1/sync/push"):
            pushes.append(line)
            if len(pushes) == 4:
                time.sleep(0.01)
                proc.send_signal(signal.SIGKILL)

    proxy.on_request = on_request
    proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL
    proxy.on_request = None
    stored = big_server.stored()
    assert 0 < len(stored) < 300
    assert 0 < outbox(home) < 300
    finish(home, "sync", "--json")
    assert outbox(home) == 0

    # pull: a second laptop killed on its second page, then pulled again
    second = tmp_path / "second"
    laptop = make_client(second, proxy.base, token)
    laptop.config["pull_limit"] = 200  # several pages
    laptop._save_config()
    laptop.close()
    pages: list[bytes] = []
    proc = spawn(second, "pull", "--json")

    def on_pull(line: bytes) -> None:
        if line.startswith(b"GET /api/v1/sync/pull"):
            pages.append(line)
            if len(pages) == 2:
                proc.send_signal(signal.SIGKILL)

    proxy.on_request = on_pull
    proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL
    proxy.on_request = None
    half = refs(second)
    assert half, "the first page was kept"
    finish(second, "pull", "--json")
    finish(home, "pull", "--json")
    assert refs(second) == refs(home)

    c = Client(home)
    assert_exactly_once(c, big_server.stored(), wanted)
    c.close()
