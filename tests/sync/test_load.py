"""Load shedding under a burst: 200 full-size pushes sent at once to a real uvicorn server (one
worker, then two) on the suite's database (EMIS_TEST_DB). Every request is answered within 30 s,
either served (200) or shed (503 problem+json with Retry-After); never a 500, a timeout or a
dropped connection. Clients retry the 503s with the same body, and in the end every return is
stored exactly once (one return at revision 1 with one revision row per school)."""

import json
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import create_engine, text

from tests.indicators.helpers import assert_totals_match_a_recount
from tests.servers import login, running_server

pytestmark = pytest.mark.slow

# The figures of the issue; the environment may change them to explore (never in CI).
REQUESTS = int(os.environ.get("EMIS_LOAD_REQUESTS", "200"))  # concurrent pushes, sent at once
ITEMS_PER_REQUEST = int(os.environ.get("EMIS_LOAD_ITEMS", "10"))  # full-size returns each
SCHOOLS = REQUESTS * ITEMS_PER_REQUEST + 100
CLIENT_TIMEOUT = 30.0  # seconds: every answer must arrive within this
RETRY_AFTER_CAP = 3.0  # seconds: the longest a client waits on a Retry-After
RETRY_DEADLINE = 120.0  # seconds: after this no client starts another attempt
SEED = 17
ALLOWED_FINAL = {"applied", "duplicate"}


def _build_load_demo(url: str) -> Any:
    from app.core.db import make_engine, make_sessionmaker
    from app.demo.generator import DemoSpec, build_demo

    engine = make_engine(url)
    try:
        return build_demo(
            make_sessionmaker(engine), DemoSpec(schools=SCHOOLS, seed=SEED, returns=False)
        )
    finally:
        engine.dispose()


@dataclass
class LoadDemo:
    url: str
    year: int
    admin_password: str
    schools: list[tuple[str, list[str]]]


@pytest.fixture
def load_demo(db_factory: Any) -> Iterator[LoadDemo]:
    from tests.conftest import passwords

    url = db_factory.copy(db_factory.template("load_demo", _build_load_demo))
    result = db_factory.built["load_demo"]  # the template's build: users, passwords, years
    password = passwords(result)["admin"]
    yield LoadDemo(url, result.years[1], password, _schools(url))
    db_factory.drop(url)


def _schools(url: str) -> list[tuple[str, list[str]]]:
    eng = create_engine(url)
    with eng.connect() as c:
        rows = c.execute(text("SELECT code, levels FROM school ORDER BY code")).all()
    eng.dispose()
    return [(code, json.loads(lv) if isinstance(lv, str) else list(lv)) for code, lv in rows]


@dataclass
class Attempt:
    request: int
    attempt: int
    seconds: float
    status: int | None  # None: no HTTP answer
    detail: str = ""


@dataclass
class Outcome:
    attempts: list[Attempt] = field(default_factory=list)
    results: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, a: Attempt) -> None:
        with self.lock:
            self.attempts.append(a)


def _is_shed(resp: httpx.Response) -> tuple[bool, str]:
    """A 503 that a client may retry: Retry-After and a problem+json body."""
    if resp.status_code != 503:
        return False, ""
    why = []
    if "retry-after" not in resp.headers:
        why.append("no Retry-After")
    if not resp.headers.get("content-type", "").startswith("application/problem+json"):
        why.append(f"content-type {resp.headers.get('content-type')!r}")
    return not why, "; ".join(why)


def _retry_after(resp: httpx.Response) -> float:
    try:
        return min(RETRY_AFTER_CAP, max(0.0, float(resp.headers["retry-after"])))
    except (KeyError, ValueError):
        return 1.0


def _client_loop(
    n: int,
    base: str,
    headers: dict[str, str],
    body: bytes,
    barrier: threading.Barrier,
    started: list[float],
    out: Outcome,
) -> None:
    rng = random.Random(n)
    with httpx.Client(
        base_url=base,
        headers={**headers, "Content-Type": "application/json"},
        timeout=httpx.Timeout(CLIENT_TIMEOUT),
    ) as client:
        # No connection is opened before the burst: one kept alive while 200 threads line up
        # could pass the server's keep-alive timeout and be closed under the first push.
        barrier.wait()
        attempt = 0
        while True:
            attempt += 1
            t0 = time.monotonic()
            try:
                resp = client.post("/api/v1/sync/push", content=body)
            except httpx.HTTPError as exc:
                out.record(
                    Attempt(n, attempt, time.monotonic() - t0, None, f"{type(exc).__name__}: {exc}")
                )
                wait = 1.0
            else:
                dt = time.monotonic() - t0
                if resp.status_code == 200:
                    out.record(Attempt(n, attempt, dt, 200))
                    with out.lock:
                        out.results[n] = resp.json()["results"]
                    return
                shed, why = _is_shed(resp)
                out.record(
                    Attempt(
                        n, attempt, dt, resp.status_code, why or ("" if shed else resp.text[:300])
                    )
                )
                wait = _retry_after(resp) if shed else 1.0
            # Retry with the same body (same item ids), as a client with an outbox does.
            if time.monotonic() - started[0] + wait > RETRY_DEADLINE:
                return
            time.sleep(wait * rng.uniform(0.8, 1.2))


def _summary(workers: int, kind: str, out: Outcome, elapsed: float) -> str:
    first = Counter(str(a.status) for a in out.attempts if a.attempt == 1)
    every = Counter(str(a.status) for a in out.attempts)
    latency = max((a.seconds for a in out.attempts), default=0.0)
    served = [a.seconds for a in out.attempts if a.status == 200]
    return (
        f"load {kind} workers={workers}: {REQUESTS} pushes x {ITEMS_PER_REQUEST} returns; "
        f"first answers {dict(first)}; all attempts {dict(every)} ({len(out.attempts)}); "
        f"served {len(out.results)}/{REQUESTS}; max latency {latency:.2f} s; "
        f"max served {max(served, default=0):.2f} s; wall {elapsed:.1f} s"
    )


@pytest.mark.parametrize("workers", [1, 2])
def test_a_burst_of_full_size_pushes_is_served_or_shed_and_stored_exactly_once(
    load_demo: LoadDemo, workers: int, tmp_path: Path
) -> None:
    from app.demo.returns import batch_items

    assert len(load_demo.schools) >= REQUESTS * ITEMS_PER_REQUEST
    bodies: list[bytes] = []
    sent: dict[str, str] = {}  # school → item id
    for n in range(REQUESTS):
        schools = load_demo.schools[n * ITEMS_PER_REQUEST : (n + 1) * ITEMS_PER_REQUEST]
        items = batch_items(load_demo.year, schools, SEED * 1000 + n)
        sent.update({it["school"]: it["id"] for it in items})
        bodies.append(orjson.dumps({"device_id": f"load-{n % 20}", "items": items}))
    assert len(sent) == REQUESTS * ITEMS_PER_REQUEST

    kind = "postgresql" if load_demo.url.startswith("postgresql") else "sqlite"
    with running_server(load_demo.url, tmp_path / "srv", workers=workers) as srv:
        headers = login(srv.base, "admin", load_demo.admin_password)
        out = Outcome()
        started = [0.0]
        # The clock starts as the barrier opens, before any client runs: a client shed at once
        # must not read a start of 0 and give up as if past its retry deadline.
        barrier = threading.Barrier(
            REQUESTS + 1, action=lambda: started.__setitem__(0, time.monotonic())
        )
        threads = [
            threading.Thread(
                target=_client_loop,
                args=(n, srv.base, headers, bodies[n], barrier, started, out),
                daemon=True,
            )
            for n in range(REQUESTS)
        ]
        for t in threads:
            t.start()
        barrier.wait(60)
        for t in threads:
            t.join(RETRY_DEADLINE + CLIENT_TIMEOUT + 30)
        elapsed = time.monotonic() - started[0]
        summary = _summary(workers, kind, out, elapsed)
        print(summary)
        log = srv.log_tail(3000)

    bad = [a for a in out.attempts if a.status not in (200, 503) or a.detail]
    slow = [a for a in out.attempts if a.seconds > CLIENT_TIMEOUT]
    problems = []
    if bad:
        kinds = Counter(f"{a.status}: {a.detail[:80]}" for a in bad)
        problems.append(f"{len(bad)} answers neither 200 nor a proper 503: {dict(kinds)}")
    if slow:
        problems.append(f"{len(slow)} answers took over {CLIENT_TIMEOUT} s")
    if len(out.results) != REQUESTS:
        problems.append(
            f"{REQUESTS - len(out.results)} pushes never got a 200 within {RETRY_DEADLINE} s"
        )
    assert not problems, summary + "\n" + "\n".join(problems) + "\nserver log tail:\n" + log

    statuses = Counter(r["status"] for rs in out.results.values() for r in rs)
    assert set(statuses) <= ALLOWED_FINAL, (statuses, summary)
    assert all(r["revision"] == 1 for rs in out.results.values() for r in rs), summary

    eng = create_engine(load_demo.url)
    with eng.connect() as c:
        rows = c.execute(
            text(
                "SELECT s.code, r.revision, count(v.id), min(CAST(v.push_id AS VARCHAR(64))), "
                "max(v.revision) "
                "FROM census_return r JOIN school s ON s.id = r.school_id "
                "LEFT JOIN return_revision v ON v.return_id = r.id "
                "WHERE r.year = :year AND r.form_code = 'annual_school_census' "
                "GROUP BY s.code, r.revision"
            ),
            {"year": load_demo.year},
        ).all()
    eng.dispose()
    stored = {code: (rev, count, push_id, top) for code, rev, count, push_id, top in rows}
    assert len(rows) == len(stored) == len(sent), (len(rows), len(sent), summary)
    assert set(stored) == set(sent)
    wrong = {
        code: got
        for code, got in stored.items()
        if got[:2] != (1, 1) or got[3] != 1 or str(got[2]).lower() != sent[code].lower()
    }
    assert not wrong, f"{len(wrong)} schools not stored exactly once: {list(wrong.items())[:5]}"
    # The figures kept current under that burst equal a fresh count of what was stored.
    assert_totals_match_a_recount(load_demo.url)
