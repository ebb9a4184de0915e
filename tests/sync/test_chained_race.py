"""Chained edits racing on PostgreSQL: two devices each send, at the same moment, one batch that
holds two chained edits of several returns (base r, then r + 1 with a new id) in opposite orders,
mixed with single edits of other schools, to a real uvicorn server with two workers. Row locks taken in request order would deadlock here; no deadlock (nor any other
failure) may reach a client: every answer is 200 and the returns' histories stay whole."""

import json
import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import create_engine, text

from tests.indicators.helpers import assert_totals_match_a_recount
from tests.servers import Server, login, running_server

pytestmark = [pytest.mark.slow, pytest.mark.postgres_only]

ROUNDS = 50
CHAINED = 3  # schools edited twice (base r, then r + 1) by both devices in each round
SINGLES = 2  # schools edited once by each device in each round (other schools for each)
POOL = 12  # schools the rounds draw from, each at revision 1 before the first round
CLIENT_TIMEOUT = 30.0
FORM = "annual_school_census"
OUTCOMES = {"applied", "conflict", "duplicate"}


@dataclass
class Setup:
    server: Server
    url: str
    headers: dict[str, str]
    year: int
    levels: dict[str, list[str]]


@pytest.fixture
def race(pg_factory: Any, tmp_path: Path) -> Iterator[Setup]:
    from tests.conftest import _build_demo, passwords

    url = pg_factory.copy(pg_factory.template("demo", _build_demo))
    result = pg_factory.built["demo"]  # the template's build: users, passwords, years
    password = passwords(result)["admin"]
    eng = create_engine(url)
    with eng.connect() as c:
        rows = c.execute(
            text("SELECT code, levels FROM school ORDER BY code LIMIT :n"), {"n": POOL}
        )
        levels = {
            code: json.loads(lv) if isinstance(lv, str) else list(lv) for code, lv in rows.all()
        }
    eng.dispose()
    with running_server(url, tmp_path / "srv", workers=2) as srv:
        yield Setup(srv, url, login(srv.base, "admin", password), result.years[1], levels)
    pg_factory.drop(url)


def _item(setup: Setup, school: str, base: int, rng: random.Random) -> dict[str, Any]:
    from app.demo.returns import school_values, standard_age_code

    return {
        "id": str(uuid.uuid4()),
        "form": FORM,
        "form_version": 1,
        "year": setup.year,
        "school": school,
        "base_revision": base,
        "values": school_values(rng, setup.levels[school], standard_age_code),
        "captured_at": "2026-03-02T10:15:00+00:00",
    }


def _batch(
    setup: Setup,
    chained: list[str],
    singles: list[str],
    current: dict[str, int],
    rng: random.Random,
) -> list[dict[str, Any]]:
    """Two chained edits of each `chained` school and one edit of each `single`, interleaved:
    each school's base r comes before its r + 1, the schools in the order given."""
    queues = [
        [_item(setup, s, current[s], rng), _item(setup, s, current[s] + 1, rng)] for s in chained
    ] + [[_item(setup, s, current[s], rng)] for s in singles]
    items: list[dict[str, Any]] = []
    while queues:
        # Round robin over the schools in their order: A1 B1 C1 S1 … A2 B2 C2.
        for q in list(queues):
            items.append(q.pop(0))
            if not q:
                queues.remove(q)
    return items


def test_chained_edits_racing_never_deadlock_a_client(race: Setup) -> None:
    rng = random.Random(8)
    schools = sorted(race.levels)
    # Every school of the pool starts at revision 1.
    with httpx.Client(base_url=race.server.base, headers=race.headers, timeout=60) as c:
        r = c.post(
            "/api/v1/sync/push",
            json={"device_id": "setup", "items": [_item(race, s, 0, rng) for s in schools]},
        )
    assert r.status_code == 200, r.text
    assert {x["status"] for x in r.json()["results"]} == {"applied"}, r.text
    current = dict.fromkeys(schools, 1)
    applied: Counter[str] = Counter()

    devices = ["tablet-a", "tablet-b"]
    barrier = threading.Barrier(2)
    answers: dict[str, Any] = {}
    bodies: dict[str, bytes] = {}
    go = [threading.Event(), threading.Event()]
    done = [threading.Event(), threading.Event()]
    stop = threading.Event()

    def device(n: int) -> None:
        with httpx.Client(
            base_url=race.server.base,
            headers={**race.headers, "Content-Type": "application/json"},
            timeout=CLIENT_TIMEOUT,
        ) as c:
            c.get("/health")
            while True:
                go[n].wait()
                go[n].clear()
                if stop.is_set():
                    return
                barrier.wait()
                t0 = time.monotonic()
                answer: httpx.Response | Exception
                try:
                    answer = c.post("/api/v1/sync/push", content=bodies[devices[n]])
                except httpx.HTTPError as exc:
                    answer = exc
                answers[devices[n]] = (answer, time.monotonic() - t0)
                done[n].set()

    threads = [threading.Thread(target=device, args=(n,), daemon=True) for n in range(2)]
    for t in threads:
        t.start()
    failures: list[str] = []
    statuses: Counter[str] = Counter()
    split = 0
    started = time.monotonic()
    try:
        for rnd in range(ROUNDS):
            # The chained schools in opposite orders; each device's single edits are of schools
            # of its own, so they do not make the two batches wait on each other first.
            picked = rng.sample(schools, CHAINED + 2 * SINGLES)
            chained = picked[:CHAINED]
            singles = picked[CHAINED : CHAINED + SINGLES], picked[CHAINED + SINGLES :]
            batches = {
                devices[0]: _batch(race, chained, singles[0], current, rng),
                devices[1]: _batch(race, chained[::-1], singles[1][::-1], current, rng),
            }
            for dev, items in batches.items():
                bodies[dev] = orjson.dumps({"device_id": dev, "items": items})
            answers.clear()
            for n in range(2):
                done[n].clear()
                go[n].set()
            for n in range(2):
                assert done[n].wait(CLIENT_TIMEOUT + 10), f"round {rnd}: device {n} hung"
            for dev, items in batches.items():
                resp, seconds = answers[dev]
                if not isinstance(resp, httpx.Response):
                    failures.append(f"round {rnd} {dev}: no answer ({type(resp).__name__}: {resp})")
                    continue
                if resp.status_code != 200:
                    failures.append(f"round {rnd} {dev}: {resp.status_code} {resp.text[:300]}")
                    continue
                if seconds > CLIENT_TIMEOUT:
                    failures.append(f"round {rnd} {dev}: answered after {seconds:.1f} s")
                results = resp.json()["results"]
                assert [x["id"] for x in results] == [it["id"] for it in items]
                for it, res in zip(items, results, strict=True):
                    statuses[res["status"]] += 1
                    if res["status"] not in OUTCOMES:
                        failures.append(f"round {rnd} {dev}: {it['school']} {res}")
                    if res["status"] == "applied":
                        applied[it["school"]] += 1
                        assert res["revision"] == it["base_revision"] + 1, (rnd, dev, it, res)
                        current[it["school"]] = max(current[it["school"]], res["revision"])
            # Both devices edited each school from the same base: usually one chain wins whole;
            # a chain split between the devices is legal per item, and counted for the summary.
            for s in picked:
                winners = {
                    dev
                    for dev, items in batches.items()
                    if isinstance(answers[dev][0], httpx.Response)
                    and answers[dev][0].status_code == 200
                    for it, res in zip(items, answers[dev][0].json()["results"], strict=True)
                    if it["school"] == s and res["status"] == "applied"
                }
                split += len(winners) > 1
    finally:
        stop.set()
        for e in go:
            e.set()
        for t in threads:
            t.join(5)
    elapsed = time.monotonic() - started
    summary = (
        f"chained race: {ROUNDS} rounds x 2 devices in {elapsed:.1f} s; item statuses "
        f"{dict(statuses)}; {split} chains split between devices; {len(failures)} failed requests"
    )
    print(summary)
    log = race.server.log_tail(20000)
    deadlocks = log.count("deadlock detected")
    assert not failures, (
        summary
        + f"\n{deadlocks} 'deadlock detected' in the server log\n"
        + "\n".join(failures[:20])
    )
    assert statuses["applied"] > 0
    # The figures kept current through every racing edit equal a fresh count.
    assert_totals_match_a_recount(race.url)

    # The stored histories: revisions 1..n without gaps, n = 1 + every applied edit.
    eng = create_engine(race.url)
    with eng.connect() as c:
        rows = c.execute(
            text(
                "SELECT s.code, r.revision, v.revision FROM census_return r "
                "JOIN school s ON s.id = r.school_id "
                "JOIN return_revision v ON v.return_id = r.id "
                "WHERE r.year = :year AND r.form_code = :form ORDER BY s.code, v.revision"
            ),
            {"year": race.year, "form": FORM},
        ).all()
    eng.dispose()
    history: dict[str, list[int]] = defaultdict(list)
    heads: dict[str, int] = {}
    for code, head, rev in rows:
        history[code].append(rev)
        heads[code] = head
    assert set(history) == set(schools)
    for s in schools:
        n = 1 + applied[s]
        assert history[s] == list(range(1, n + 1)), (s, history[s], applied[s])
        assert heads[s] == n == current[s], (s, heads[s], n, current[s])
