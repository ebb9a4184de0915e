"""Ingest benchmark: push N demo returns over HTTP to a real uvicorn server, in batches, and
compare with the raw ceiling of the same machine (the same rows inserted straight into the same
kind of database with the same batch size, no HTTP and no checks).

    python bench/ingest.py --db sqlite --returns 5000
    python bench/ingest.py --db postgresql --returns 20000 --workers 2

Prints a table and, last, one JSON object with the figures."""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core.db import make_engine, make_sessionmaker  # noqa: E402
from app.core.migrate import upgrade  # noqa: E402
from app.demo.generator import DemoSpec, build_demo, demo_users  # noqa: E402
from app.demo.returns import batch_items, cell_count  # noqa: E402

PG_ADMIN = os.environ.get(
    "EMIS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def fresh_database(kind: str, tag: str, workdir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / (tag + '.db')}"
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"emis_bench_{tag}_{os.getpid()}"
    eng = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{name}"'))
    eng.dispose()
    return make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    if url.startswith("sqlite"):
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    eng = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    eng.dispose()


def prepare(url: str, n: int, seed: int) -> tuple[int, list[tuple[str, list[str]]], dict[str, str]]:
    """A migrated database with a demo country of n schools (no returns)."""
    upgrade(url)
    engine = make_engine(url)
    spec = DemoSpec(schools=n, seed=seed, returns=False)
    result = build_demo(make_sessionmaker(engine), spec)
    from sqlalchemy import select

    from app.registry.models import School

    with make_sessionmaker(engine)() as s:
        schools = [
            (c, lv) for c, lv in s.execute(select(School.code, School.levels).order_by(School.code))
        ]
    engine.dispose()
    users = {
        u.username: u.password for u in demo_users(spec, "DM-R01", "DM-R01-D001", "DM-R01-D002")
    }
    return result.years[1], schools, users


def make_items(year: int, schools: list[tuple[str, list[str]]], seed: int) -> list[dict]:
    return batch_items(year, schools, seed)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_of_tree(pid: int) -> int:
    """Resident memory of a process and its children, in bytes (Linux /proc)."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def run_http(
    url: str,
    items: list[dict],
    users: dict[str, str],
    batch: int,
    workers: int,
    concurrency: int,
    tmp: Path,
) -> dict:
    port = free_port()
    env = {
        **os.environ,
        "EMIS_DATABASE_URL": url,
        "EMIS_LOG_LEVEL": "WARNING",
        "EMIS_DATA_DIR": str(tmp),
        "EMIS_SYNC_MAX_ITEMS": str(max(batch, 200)),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.asgi:app",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            if httpx.get(base + "/ready", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    else:
        proc.kill()
        raise SystemExit("server did not start: " + proc.stderr.read().decode()[-2000:])
    token = httpx.post(
        base + "/api/v1/auth/token", data={"username": "admin", "password": users["admin"]}
    ).json()["access_token"]
    bodies = [
        orjson.dumps({"device_id": f"bench-{i % 8}", "items": items[i : i + batch]})
        for i in range(0, len(items), batch)
    ]
    peak = [rss_of_tree(proc.pid)]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], rss_of_tree(proc.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    lock = threading.Lock()
    clients = threading.local()

    def send(body: bytes) -> None:
        if not hasattr(clients, "c"):
            clients.c = httpx.Client(
                base_url=base,
                timeout=120,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
        t = time.perf_counter()
        r = clients.c.post("/api/v1/sync/push", content=body)
        dt = time.perf_counter() - t
        r.raise_for_status()
        with lock:
            latencies.append(dt)
            for res in r.json()["results"]:
                statuses[res["status"]] = statuses.get(res["status"], 0) + 1

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(send, bodies))
    elapsed = time.perf_counter() - started
    stop.set()
    sampler.join()
    proc.terminate()
    proc.wait(20)
    latencies.sort()
    return {
        "seconds": elapsed,
        "returns_per_s": len(items) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "peak_rss_mb": peak[0] / 2**20,
        "statuses": statuses,
    }


def run_raw(url: str, items: list[dict], batch: int) -> dict:
    """The ceiling: the same rows straight into the same tables, one transaction per batch."""
    from sqlalchemy import insert, select

    from app.registry.models import School
    from app.returns.models import CensusReturn, ReturnRevision

    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    with factory() as s:
        ids = dict(s.execute(select(School.code, School.id)).all())
    from app.core.types import utcnow

    started = time.perf_counter()
    for i in range(0, len(items), batch):
        chunk = items[i : i + batch]
        now = utcnow()
        with factory() as s, s.begin():
            rids = (
                s.execute(
                    insert(CensusReturn).returning(CensusReturn.id, sort_by_parameter_order=True),
                    [
                        {
                            "form_code": it["form"],
                            "year": it["year"],
                            "school_id": ids[it["school"]],
                            "form_version": 1,
                            "revision": 1,
                            "status": "submitted",
                            "updated_at": now,
                        }
                        for it in chunk
                    ],
                )
                .scalars()
                .all()
            )
            s.execute(
                insert(ReturnRevision),
                [
                    {
                        "return_id": rid,
                        "revision": 1,
                        "form_version": 1,
                        "values": it["values"],
                        "push_id": it["id"],
                        "content_hash": "x",
                        "status": "submitted",
                        "errors": [],
                        "warnings": [],
                        "received_at": now,
                    }
                    for rid, it in zip(rids, chunk, strict=True)
                ],
            )
    elapsed = time.perf_counter() - started
    engine.dispose()
    return {"seconds": elapsed, "returns_per_s": len(items) / elapsed}


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--returns", type=int, default=5000)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    ap.add_argument("--concurrency", type=int, default=2, help="client threads sending batches")
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        print(f"Preparing {args.returns} schools on {args.db} …", file=sys.stderr)
        url = fresh_database(args.db, "http", tmp)
        raw_url = fresh_database(args.db, "raw", tmp)
        try:
            year, schools, users = prepare(url, args.returns, args.seed)
            prepare(raw_url, args.returns, args.seed)
            items = make_items(year, schools, args.seed)
            cells = sum(cell_count(it["values"]) for it in items)
            print("Pushing over HTTP …", file=sys.stderr)
            http = run_http(url, items, users, args.batch, args.workers, args.concurrency, tmp)
            print("Raw ceiling …", file=sys.stderr)
            raw = run_raw(raw_url, items, args.batch)
        finally:
            drop_database(url)
            drop_database(raw_url)
    n = len(items)
    result = {
        "db": args.db,
        "returns": n,
        "cells": cells,
        "cells_per_return": round(cells / n, 1),
        "batch": args.batch,
        "workers": args.workers,
        "concurrency": args.concurrency,
        "returns_per_s": round(http["returns_per_s"], 1),
        "cells_per_s": round(cells / http["seconds"]),
        "p50_batch_ms": round(http["p50_ms"], 1),
        "p99_batch_ms": round(http["p99_ms"], 1),
        "server_peak_rss_mb": round(http["peak_rss_mb"], 1),
        "raw_returns_per_s": round(raw["returns_per_s"], 1),
        "raw_cells_per_s": round(cells / raw["seconds"]),
        "ratio_to_raw": round(http["returns_per_s"] / raw["returns_per_s"], 3),
        "statuses": http["statuses"],
        "cpus": os.cpu_count(),
    }
    print(f"{'':24}{'HTTP + checks':>16}{'raw ceiling':>16}")
    print(f"{'returns/s':24}{result['returns_per_s']:>16}{result['raw_returns_per_s']:>16}")
    print(f"{'cells/s':24}{result['cells_per_s']:>16}{result['raw_cells_per_s']:>16}")
    print(f"{'batch p50 / p99 ms':24}{result['p50_batch_ms']:>8}/{result['p99_batch_ms']:<7}")
    print(f"{'server peak RSS MB':24}{result['server_peak_rss_mb']:>16}")
    print(f"{'ratio to raw':24}{result['ratio_to_raw']:>16}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
