"""Ingest benchmark: push N demo returns over HTTP to a real uvicorn server, in batches, and
compare with the raw ceiling of the same machine (the same rows inserted straight into the same
kind of database with the same batch size, no HTTP and no checks).

    python bench/ingest.py --db sqlite --returns 5000
    python bench/ingest.py --db postgresql --returns 20000 --workers 2
    python bench/ingest.py --db postgresql --returns 2000 --batch 1 --concurrency 1
    python bench/ingest.py --db postgresql --returns 2000 --batch 1 --workers 2 --concurrency 8
    python bench/ingest.py --db sqlite --sqlite-synchronous FULL      # the durable setting
    python bench/ingest.py --db postgresql --batch 1 --returns 500 --profile /tmp/push.prof
    python bench/ingest.py --app-root /work/old ...    # another checkout, for back to back runs
    python bench/ingest.py --db postgresql --no-keep   # without keeping the figures current
    python bench/ingest.py --db postgresql --by-district --keep-rounds 3   # the two, alternated

Every request is timed: returns/s and the per-request latency (p50/p90/p99) are printed; with
--batch 1 a request is one return and the raw ceiling is one return per transaction. A 503 with
Retry-After (load shedding) is waited out and the same body sent again; those are counted.

--app-root runs another source tree (e.g. a worktree of an older commit) with this benchmark:
its migrations and demo build the databases and its code serves them (server cwd and
PYTHONPATH), so old and new code can be measured back to back with the same harness.

--no-keep serves with EMIS_BENCH_NO_KEEPERS=1: the push skips keeping the indicator totals
current (what keeping costs is the ratio of a run with it to one without, back to back).

--keep-rounds R measures keeping's cost in one command: R rounds of a run with keeping then
one without, each on a fresh copy of the same prepared database (a PostgreSQL template, a copy
of the SQLite file), and prints every run, the median of each side and keep / no-keep (issue 10's
target is ≥ 0.8), the rounds pooled (mean rate / mean rate), and the CPU a return costs the
server and the database (PostgreSQL's processes, read from /proc) on each side. Alternating
cancels most of this machine's drift between minutes.

On PostgreSQL the statistics follow the tables as autovacuum's would (it is off on this
machine): ANALYZE after preparing, then each second every table autovacuum's rule names.

--profile FILE runs the one server worker under cProfile (every request thread and the event
loop, merged) and writes FILE (pstats: `python -m pstats FILE`, snakeviz) and FILE.txt (the top
functions by cumulative time). Profiling slows the server: its figures are not the benchmark's.

Prints a table and, last, one JSON object with the figures."""

import argparse
import contextlib
import json
import os
import signal
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

HERE = Path(__file__).resolve()
# The source tree whose code is measured: this checkout, or the one --app-root named (the
# benchmark re-executes itself with this variable set, so every import below comes from it).
ROOT = Path(os.environ.get("EMIS_BENCH_APP_ROOT") or HERE.parents[1]).resolve()
sys.path.insert(0, str(ROOT))

from app.core.db import make_engine, make_sessionmaker  # noqa: E402
from app.core.migrate import upgrade  # noqa: E402
from app.demo.generator import DemoSpec, build_demo  # noqa: E402
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


def clone_database(url: str, tag: str, workdir: Path) -> str:
    """A fresh copy of a prepared database (nobody connected to it): PostgreSQL's CREATE
    DATABASE … TEMPLATE, a copy of the SQLite file."""
    if url.startswith("sqlite"):
        import shutil

        source = Path(url.removeprefix("sqlite:///"))
        target = workdir / (tag + ".db")
        for suffix in ("", "-wal", "-shm"):
            if Path(str(source) + suffix).exists():
                shutil.copyfile(str(source) + suffix, str(target) + suffix)
        return f"sqlite:///{target}"
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    template = make_url(url).database
    name = f"emis_bench_{tag}_{os.getpid()}"
    eng = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        # PostgreSQL 15 copies a template through the WAL by default: the checkpoint that WAL
        # brings on would fall in the run measured next. FILE_COPY checkpoints here instead,
        # and the CHECKPOINT after it starts every run with the same clean buffers.
        file_copy = int(c.scalar(text("SHOW server_version_num")) or 0) >= 150000
        strategy = " STRATEGY FILE_COPY" if file_copy else ""
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"{strategy}'))
        with contextlib.suppress(Exception):  # not a superuser: the run starts as it finds it
            c.execute(text("CHECKPOINT"))
    eng.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def prepare(
    url: str, n: int, seed: int, by_district: bool = False
) -> tuple[int, list[tuple[str, list[str]]], dict[str, str], list[int] | None]:
    """A migrated database with a demo country of n schools (no returns): the year, the
    schools (code, levels), the demo users' passwords and, by district, each school's
    district (the schools then come district by district)."""
    upgrade(url)
    engine = make_engine(url)
    spec = DemoSpec(schools=n, seed=seed, returns=False)
    result = build_demo(make_sessionmaker(engine), spec)
    from sqlalchemy import select

    from app.registry.models import School

    with make_sessionmaker(engine)() as s:
        rows = list(
            s.execute(
                select(School.code, School.levels, School.admin_unit_id).order_by(
                    *((School.admin_unit_id,) if by_district else ()), School.code
                )
            )
        )
    engine.dispose()
    schools = [(c, lv) for c, lv, _ in rows]
    districts = [d for _, _, d in rows] if by_district else None
    users = {u.username: u.password for u in result.users if u.password is not None}
    return result.years[1], schools, users, districts


def request_streams(
    items: list[dict], batch: int, districts: list[int] | None
) -> list[list[bytes]]:
    """The push bodies, as streams a client sends one after another. Nationally every batch
    is its own stream (any client sends it, as a bulk load spreads over workers). By district
    a stream is one district office's device: its own schools only, in batches that never
    cross into another district, sent in order; two clients are two offices at once."""
    if districts is None:
        return [
            [orjson.dumps({"device_id": f"bench-{i % 8}", "items": items[i : i + batch]})]
            for i in range(0, len(items), batch)
        ]
    groups: dict[int, list[dict]] = {}
    for item, district in zip(items, districts, strict=True):
        groups.setdefault(district, []).append(item)
    return [
        [
            orjson.dumps({"device_id": f"bench-district-{d}", "items": group[i : i + batch]})
            for i in range(0, len(group), batch)
        ]
        for d, group in groups.items()
    ]


def make_items(year: int, schools: list[tuple[str, list[str]]], seed: int) -> list[dict]:
    return batch_items(year, schools, seed)


def analyze(url: str) -> None:
    """PostgreSQL: ANALYZE the whole database (a prepared country's tables get the statistics a
    database in use has; autovacuum is off on this machine)."""
    if not url.startswith("postgresql"):
        return
    from sqlalchemy import create_engine, text

    eng = create_engine(url, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(text("ANALYZE"))
    eng.dispose()


# Autovacuum's rule for ANALYZE (PostgreSQL's defaults): a table whose rows changed since its
# last analysis number more than 50 + 10 % of its rows.
_STALE_TABLES = """
SELECT s.relname FROM pg_stat_user_tables AS s JOIN pg_class AS c ON c.oid = s.relid
WHERE s.n_mod_since_analyze > 50 + 0.1 * greatest(c.reltuples, 0)
"""


class AutoAnalyze:
    """PostgreSQL: what autovacuum would do to the statistics while the pushes grow the tables
    (it is off on this machine; without it the planner keeps a table's empty-start statistics
    and scans it whole): every `every` seconds, ANALYZE each table autovacuum's rule names.
    Production checks every minute (autovacuum_naptime) but grows over weeks, not seconds."""

    def __init__(self, url: str, every: float = 1.0) -> None:
        self.url, self.every = url, every
        self.stop = threading.Event()
        self.analyzed = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "AutoAnalyze":
        if self.url.startswith("postgresql"):
            self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join()

    def _run(self) -> None:
        from sqlalchemy import create_engine, text

        eng = create_engine(self.url, isolation_level="AUTOCOMMIT")
        try:
            with eng.connect() as c:
                while not self.stop.wait(self.every):
                    for (table,) in c.execute(text(_STALE_TABLES)).all():
                        c.execute(text(f'ANALYZE "{table}"'))
                        self.analyzed += 1
        finally:
            eng.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree_of(pid: int) -> list[int]:
    """A process and its children (Linux /proc)."""
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    return pids


def cpu_ticks(pids: list[int]) -> dict[int, int]:
    """User + system CPU time of each of these processes so far, in clock ticks (Linux /proc;
    a process gone is left out)."""
    out = {}
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            out[p] = int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return out


def cpu_spent(before: dict[int, int], after: dict[int, int]) -> float:
    """CPU seconds spent between two readings (a process born in between counts from 0)."""
    ticks = sum(t - before.get(p, 0) for p, t in after.items())
    return ticks / os.sysconf("SC_CLK_TCK")


def database_backends(url: str) -> list[int]:
    """PostgreSQL (on this machine): the server processes serving this database now, the
    server's pool and the statistics thread's; SQLite works inside the server: none."""
    if not url.startswith("postgresql"):
        return []
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    eng = create_engine(url)
    try:
        with eng.connect() as c:
            return list(
                c.scalars(
                    text(
                        "SELECT pid FROM pg_stat_activity WHERE datname = :db "
                        "AND pid <> pg_backend_pid()"
                    ),
                    {"db": make_url(url).database},
                )
            )
    finally:
        eng.dispose()


def rss_of_tree(pid: int) -> int:
    """Resident memory of a process and its children, in bytes (Linux /proc)."""
    total = 0
    for p in tree_of(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def percentile(sorted_values: list[float], q: float) -> float:
    """The q-quantile (0..1) of sorted values, nearest rank."""
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * q))]


def run_http(
    url: str,
    items: list[dict],
    users: dict[str, str],
    batch: int,
    workers: int,
    concurrency: int,
    tmp: Path,
    sqlite_synchronous: str | None = None,
    profile: Path | None = None,
    no_keep: bool = False,
    districts: list[int] | None = None,
) -> dict:
    port = free_port()
    env = {
        **os.environ,
        "EMIS_DATABASE_URL": url,
        "EMIS_LOG_LEVEL": "WARNING",
        "EMIS_DATA_DIR": str(tmp),
        "EMIS_DEMO_MODE": "true",  # a throwaway server: no secret key needed
        "EMIS_SYNC_MAX_ITEMS": str(max(batch, 200)),
        # The PDF and chart renderers warm up in a thread at start-up (2-3 s of the GIL, seen
        # in py-spy): not during the pushes measured, which would share the process with it.
        "EMIS_WARM_RENDERERS": "false",
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
    }
    if sqlite_synchronous:
        env["EMIS_SQLITE_SYNCHRONOUS"] = sqlite_synchronous
    if no_keep:
        env["EMIS_BENCH_NO_KEEPERS"] = "1"
    if profile is not None:
        # One worker, in-process, under cProfile (see serve_profiled below).
        cmd = [sys.executable, str(HERE), "--serve-profiled", str(profile), "--port", str(port)]
    else:
        cmd = [
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
        ]
    log_path = tmp / f"server-{port}.log"
    with log_path.open("wb") as log:  # a file, not a pipe that could fill up and block it
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        if proc.poll() is not None:
            break
        try:
            if httpx.get(base + "/ready", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    else:
        proc.kill()
        raise SystemExit("server did not start: " + log_path.read_text(errors="replace")[-2000:])
    if proc.poll() is not None:
        raise SystemExit("server exited: " + log_path.read_text(errors="replace")[-2000:])
    token = httpx.post(
        base + "/api/v1/auth/token", data={"username": "admin", "password": users["admin"]}
    ).json()["access_token"]
    streams = request_streams(items, batch, districts)
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
    shed = [0]  # 503 answers waited out and sent again
    lock = threading.Lock()
    clients = threading.local()

    def send(body: bytes) -> None:
        if not hasattr(clients, "c"):
            clients.c = httpx.Client(
                base_url=base,
                timeout=120,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
        for _ in range(100):
            t = time.perf_counter()
            r = clients.c.post("/api/v1/sync/push", content=body)
            dt = time.perf_counter() - t
            if r.status_code == 503 and "retry-after" in r.headers:
                with lock:
                    shed[0] += 1
                time.sleep(min(5.0, float(r.headers["retry-after"] or 1)))
                continue
            break
        r.raise_for_status()
        with lock:
            latencies.append(dt)
            for res in r.json()["results"]:
                statuses[res["status"]] = statuses.get(res["status"], 0) + 1

    def send_stream(bodies: list[bytes]) -> None:
        for body in bodies:
            send(body)

    started = time.perf_counter()
    elapsed = server_cpu = db_cpu = None
    try:
        with AutoAnalyze(url) as stats, ThreadPoolExecutor(concurrency) as pool:
            server_before = cpu_ticks(tree_of(proc.pid))
            db_before = cpu_ticks(database_backends(url))
            started = time.perf_counter()
            list(pool.map(send_stream, streams))
            elapsed = time.perf_counter() - started
            # Before the pool's connections close: CPU the server and the database spent.
            server_cpu = cpu_spent(server_before, cpu_ticks(tree_of(proc.pid)))
            db_cpu = cpu_spent(db_before, cpu_ticks(database_backends(url)))
    finally:
        if elapsed is None:  # the pushes failed: the time until then
            elapsed = time.perf_counter() - started
        stop.set()
        sampler.join()
        proc.terminate()
        try:
            proc.wait(60 if profile else 20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    latencies.sort()
    return {
        "seconds": elapsed,
        "returns_per_s": len(items) / elapsed,
        "requests": sum(len(bodies) for bodies in streams),
        "p50_ms": 1000 * statistics.median(latencies),
        "p90_ms": 1000 * percentile(latencies, 0.90),
        "p99_ms": 1000 * percentile(latencies, 0.99),
        "peak_rss_mb": peak[0] / 2**20,
        "statuses": statuses,
        "shed_503": shed[0],
        "server_cpu_s": server_cpu,
        "db_cpu_s": db_cpu,
        "analyzed": stats.analyzed,
    }


def serve_profiled(out: Path, port: int) -> None:
    """One uvicorn server in this process with every request's work under cProfile: each thread
    that runs sync code for a request (FastAPI's thread pool: dependencies, the push) keeps its
    own profiler, enabled only while it runs that code; the event loop's thread has one too. On
    shutdown (SIGTERM) they are merged into `out` (pstats) and a text summary `out`.txt."""
    import cProfile
    import io
    import pstats

    import anyio.to_thread
    import uvicorn

    local = threading.local()
    thread_profiles: list[cProfile.Profile] = []
    calls = [0]
    lock = threading.Lock()
    original = anyio.to_thread.run_sync

    async def run_sync(func, *args, **kwargs):  # type: ignore[no-untyped-def]
        def profiled(*a):  # type: ignore[no-untyped-def]
            prof = getattr(local, "prof", None)
            if prof is None:
                prof = local.prof = cProfile.Profile()
                with lock:
                    thread_profiles.append(prof)
            prof.enable()
            try:
                return func(*a)
            finally:
                prof.disable()
                calls[0] += 1

        return await original(profiled, *args, **kwargs)

    anyio.to_thread.run_sync = run_sync  # starlette's run_in_threadpool calls it by this name
    # uvicorn restores the handler it found and raises the signal again once it has shut down:
    # a handler that does nothing lets uvicorn.run return, so the profile is written.
    signal.signal(signal.SIGTERM, lambda *_: None)
    loop_prof = cProfile.Profile()
    loop_prof.enable()
    try:
        uvicorn.run(
            "app.asgi:app",
            host="127.0.0.1",
            port=port,
            workers=1,
            log_level="warning",
            access_log=False,
        )
    finally:
        loop_prof.disable()
    merged = pstats.Stats(loop_prof)
    threads = None
    for prof in thread_profiles:
        merged.add(prof)
        threads = pstats.Stats(prof) if threads is None else threads.add(prof)
    merged.dump_stats(str(out))
    text = io.StringIO()
    text.write(
        f"cProfile of one server worker: {calls[0]} thread-pool calls in "
        f"{len(thread_profiles)} threads (token lookup, push phases, other sync code).\n\n"
        "== thread-pool work (the request's sync code), by cumulative time\n"
    )
    if threads is not None:
        threads.stream = text  # type: ignore[attr-defined]
        threads.sort_stats("cumulative").print_stats(45)
        text.write("== the same, by own time\n")
        threads.sort_stats("tottime").print_stats(30)
    text.write("== event loop thread (HTTP, routing, async endpoints), by cumulative time\n")
    loop_stats = pstats.Stats(loop_prof, stream=text)
    loop_stats.sort_stats("cumulative").print_stats(35)
    Path(str(out) + ".txt").write_text(text.getvalue())


def run_raw(url: str, items: list[dict], batch: int, sqlite_synchronous: str | None = None) -> dict:
    """The ceiling: the same rows straight into the same tables, one transaction per batch
    (with --batch 1, one return per transaction)."""
    from sqlalchemy import event, insert, select

    from app.registry.models import School
    from app.returns.models import CensusReturn, ReturnRevision

    engine = make_engine(url)
    if sqlite_synchronous and url.startswith("sqlite"):

        @event.listens_for(engine, "connect")
        def _synchronous(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA synchronous={sqlite_synchronous}")
            cur.close()

    factory = make_sessionmaker(engine)
    with factory() as s:
        ids = dict(s.execute(select(School.code, School.id)).all())
    from app.core.types import utcnow

    latencies: list[float] = []
    started = time.perf_counter()
    for i in range(0, len(items), batch):
        t0 = time.perf_counter()
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
        latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    engine.dispose()
    latencies.sort()
    return {
        "seconds": elapsed,
        "returns_per_s": len(items) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
    }


def source_commit(root: Path) -> str:
    """The measured tree's commit (short), with '+' when it has uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "app"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        return head + ("+" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "?"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--returns", type=int, default=5000)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument(
        "--by-district",
        action="store_true",
        help="Send the schools as district offices do: each client is one office's device "
        "sending its own district's schools, in batches within the district, one after another, "
        "then takes the next district (the default order spreads each batch over the whole "
        "country, as a national bulk load, and any client sends any batch).",
    )
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    ap.add_argument("--concurrency", type=int, default=2, help="client threads sending batches")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument(
        "--sqlite-synchronous",
        choices=["NORMAL", "FULL"],
        help="SQLite synchronous setting for the server (EMIS_SQLITE_SYNCHRONOUS) and the raw "
        "ceiling; default: whatever the server's code does",
    )
    ap.add_argument(
        "--profile",
        type=Path,
        metavar="FILE",
        help="run the (one) server worker under cProfile and write FILE and FILE.txt",
    )
    ap.add_argument(
        "--no-keep",
        action="store_true",
        help="serve without keeping the indicator totals current (EMIS_BENCH_NO_KEEPERS=1)",
    )
    ap.add_argument(
        "--keep-rounds",
        type=int,
        metavar="R",
        help="R rounds of a run with keeping then one without, on copies of one prepared "
        "database; prints keep / no-keep of the medians",
    )
    ap.add_argument(
        "--app-root",
        type=Path,
        help="source tree to measure (its app/ and migrations/); default: this checkout",
    )
    ap.add_argument("--serve-profiled", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_profiled:
        serve_profiled(args.serve_profiled, args.port)
        return
    if args.app_root and args.app_root.resolve() != ROOT:
        # Again, with every import of the app from that tree.
        root = args.app_root.resolve()
        if not (root / "app").is_dir():
            raise SystemExit(f"{root} has no app/ folder")
        env = {
            **os.environ,
            "EMIS_BENCH_APP_ROOT": str(root),
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(root), os.environ.get("PYTHONPATH")) if p
            ),
        }
        os.execve(sys.executable, [sys.executable, str(HERE), *sys.argv[1:]], env)
    if args.profile and args.workers != 1:
        print("--profile runs one worker; --workers ignored", file=sys.stderr)
        args.workers = 1
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        print(f"Preparing {args.returns} schools on {args.db} …", file=sys.stderr)
        url = fresh_database(args.db, "http", tmp)
        raw_url = fresh_database(args.db, "raw", tmp)
        try:
            year, schools, users, districts = prepare(
                url, args.returns, args.seed, args.by_district
            )
            prepare(raw_url, args.returns, args.seed)
            analyze(url)
            analyze(raw_url)
            items = make_items(year, schools, args.seed)
            cells = sum(cell_count(it["values"]) for it in items)
            if args.keep_rounds:
                keep_rounds(args, url, raw_url, items, users, tmp, districts)
                return
            print("Pushing over HTTP …", file=sys.stderr)
            http = run_http(
                url,
                items,
                users,
                args.batch,
                args.workers,
                args.concurrency,
                tmp,
                args.sqlite_synchronous,
                args.profile.resolve() if args.profile else None,
                args.no_keep,
                districts,
            )
            print("Raw ceiling …", file=sys.stderr)
            raw = run_raw(raw_url, items, args.batch, args.sqlite_synchronous)
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
        "requests": http["requests"],
        "p90_batch_ms": round(http["p90_ms"], 2),
        "p50_request_ms": round(http["p50_ms"], 2),
        "raw_p50_transaction_ms": round(raw["p50_ms"], 2),
        "server_cpu_ms_per_return": round(1000 * http["server_cpu_s"] / n, 3),
        "db_cpu_ms_per_return": round(1000 * http["db_cpu_s"] / n, 3),
        "shed_503": http["shed_503"],
        "sqlite_synchronous": args.sqlite_synchronous,
        "profiled": bool(args.profile),
        "kept_figures": not args.no_keep,
        "app_root": str(ROOT),
        "commit": source_commit(ROOT),
    }
    print(f"{'':24}{'HTTP + checks':>16}{'raw ceiling':>16}")
    print(f"{'returns/s':24}{result['returns_per_s']:>16}{result['raw_returns_per_s']:>16}")
    print(f"{'cells/s':24}{result['cells_per_s']:>16}{result['raw_cells_per_s']:>16}")
    print(f"{'batch p50 / p99 ms':24}{result['p50_batch_ms']:>8}/{result['p99_batch_ms']:<7}")
    print(
        f"{'request p50/p90/p99 ms':24}"
        f"{http['p50_ms']:>6.2f}/{http['p90_ms']:.2f}/{http['p99_ms']:<8.2f}"
        f"{raw['p50_ms']:>8.2f} (raw, a transaction)"
    )
    print(f"{'requests (503 resent)':24}{result['requests']:>16}  ({result['shed_503']})")
    print(f"{'server peak RSS MB':24}{result['server_peak_rss_mb']:>16}")
    print(
        f"{'CPU ms a return':24}{result['server_cpu_ms_per_return']:>10} server"
        f"{result['db_cpu_ms_per_return']:>10} database"
    )
    print(f"{'ratio to raw':24}{result['ratio_to_raw']:>16}")
    if args.profile:
        print(f"profile: {args.profile} and {args.profile}.txt (figures above are profiled)")
    print(json.dumps(result))


def keep_rounds(
    args: argparse.Namespace,
    url: str,
    raw_url: str,
    items: list[dict],
    users: dict,
    tmp: Path,
    districts: list[int] | None,
) -> None:
    """Keeping's cost: runs with and without it alternated, each on a copy of `url`."""
    runs: dict[bool, list[float]] = {True: [], False: []}
    cpu: dict[bool, list[tuple[float, float]]] = {True: [], False: []}  # (server, db) s
    for r in range(args.keep_rounds):
        for keep in (True, False):
            copy = clone_database(url, f"round{r}{'k' if keep else 'n'}", tmp)
            try:
                print(f"Round {r + 1}, {'keeping' if keep else 'not keeping'} …", file=sys.stderr)
                http = run_http(
                    copy,
                    items,
                    users,
                    args.batch,
                    args.workers,
                    args.concurrency,
                    tmp,
                    args.sqlite_synchronous,
                    None,
                    not keep,
                    districts,
                )
            finally:
                drop_database(copy)
            runs[keep].append(http["returns_per_s"])
            cpu[keep].append((http["server_cpu_s"], http["db_cpu_s"]))
    print("Raw ceiling …", file=sys.stderr)
    raw = run_raw(raw_url, items, args.batch, args.sqlite_synchronous)
    keep_median, plain_median = (statistics.median(runs[k]) for k in (True, False))
    print(f"{'returns/s':24}{'keeping':>12}{'not keeping':>14}{'keep / no-keep':>16}")
    for r, (a, b) in enumerate(zip(runs[True], runs[False], strict=True)):
        print(f"{'round ' + str(r + 1):24}{a:>12.1f}{b:>14.1f}{a / b:>16.2f}")
    ratio = keep_median / plain_median
    print(f"{'median':24}{keep_median:>12.1f}{plain_median:>14.1f}{ratio:>16.2f}")
    pooled = statistics.mean(runs[True]) / statistics.mean(runs[False])
    print(f"{'pooled (mean / mean)':24}{'':26}{pooled:>16.2f}")
    print(f"{'raw ceiling':24}{raw['returns_per_s']:>12.1f}")
    print(f"target keep / no-keep >= 0.8: {'met' if ratio >= 0.8 else 'not met'}")
    # CPU a return (server process and, on PostgreSQL, the database's processes), summed over
    # the rounds: what keeping costs on a machine with no CPU to spare, less noisy than rates.
    n = len(items) * args.keep_rounds
    per = {k: [1000 * sum(c[i] for c in cpu[k]) / n for i in (0, 1)] for k in (True, False)}
    print(f"{'CPU ms a return':24}{'keeping':>12}{'not keeping':>14}{'no-keep / keep':>16}")
    for i, name in enumerate(("server", "database")):
        a, b = per[True][i], per[False][i]
        print(f"{'  ' + name:24}{a:>12.3f}{b:>14.3f}")
    cpu_ratio = sum(per[False]) / sum(per[True])
    print(f"{'  both':24}{sum(per[True]):>12.3f}{sum(per[False]):>14.3f}{cpu_ratio:>16.2f}")
    result = {
        "db": args.db,
        "returns": len(items),
        "batch": args.batch,
        "by_district": args.by_district,
        "workers": args.workers,
        "concurrency": args.concurrency,
        "keeping_returns_per_s": [round(x, 1) for x in runs[True]],
        "not_keeping_returns_per_s": [round(x, 1) for x in runs[False]],
        "keep_over_no_keep": round(ratio, 3),
        "keep_over_no_keep_pooled": round(pooled, 3),
        "cpu_ms_per_return_keeping": [round(x, 3) for x in per[True]],
        "cpu_ms_per_return_not_keeping": [round(x, 3) for x in per[False]],
        "cpu_no_keep_over_keep": round(cpu_ratio, 3),
        "raw_returns_per_s": round(raw["returns_per_s"], 1),
        "cpus": os.cpu_count(),
        "app_root": str(ROOT),
        "commit": source_commit(ROOT),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
