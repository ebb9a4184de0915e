"""Query benchmark: the national + all-districts table of GER, NER, GPI(GER), PTR, PCR and the
repetition rate, asked by concurrent clients of a real uvicorn server, on a demo country with
returns for both years; beside it the raw ceiling of the same machine: the same totals read
straight from the kept tables with one SQL query, by as many threads.

    python bench/query.py --db sqlite --schools 2000 20000 100000
    python bench/query.py --db postgresql --schools 2000 --clients 8 --requests 400

Two server runs per size: with the answer cache (the default: an answer is reused until a
return, a school, a unit, the population or the structure changes) and without it
(EMIS_FIGURES_CACHE=0: every request sums the kept totals again), so both the steady figure and
the cost of a first request after a change are measured. Each request is timed twice: to the
last byte of the body as it came over the wire (compressed), and after the client has
decompressed it (the p50/p99 reported since the first version of this benchmark; at 100,000
schools the body is megabytes and eight client threads decompress it on the same two cores as
the server). The clients accept what current browsers accept (--accept-encoding; the server
answers zstd, then gzip); `--accept-encoding gzip` measures a client without zstd. Demo
databases are built once per size and kept in --workdir (reused when present). Prints a table
and, last, one JSON object."""

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import zstandard

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from bench.ingest import PG_ADMIN, free_port, percentile  # noqa: E402

INDICATORS = "GER,NER,GPI_GER,PTR,PCR,RR"


def database(kind: str, n: int, workdir: Path) -> str:
    """A demo of n schools with both years of returns (built once, then reused)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from app.core.db import make_engine
    from app.core.migrate import upgrade
    from app.core.uow import Database
    from app.demo.generator import DemoSpec, build_demo

    if kind == "sqlite":
        url = f"sqlite:///{workdir / f'query-{n}.db'}"
        exists = (workdir / f"query-{n}.db").exists()
    else:
        name = f"emis_bench_query_{n}"
        url = make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
        eng = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with eng.connect() as c:
            exists = bool(
                c.execute(
                    text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
                ).scalar()
            )
            if not exists:
                c.execute(text(f'CREATE DATABASE "{name}"'))
        eng.dispose()
    if not exists:
        t = time.perf_counter()
        upgrade(url)
        engine = make_engine(url)
        result = build_demo(Database(engine), DemoSpec(schools=n, seed=2025, returns=True))
        # The passwords are drawn at random per database: keep them beside it for later runs.
        _passwords_file(workdir, kind, n).write_text(
            json.dumps({u.username: u.password for u in result.users})
        )
        if kind == "postgresql":  # autovacuum is off here; production's would analyse
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(text("ANALYZE"))
        engine.dispose()
        print(f"built {n} schools on {kind} in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    return url


def _passwords_file(workdir: Path, kind: str, n: int) -> Path:
    return workdir / f"query-{kind}-{n}.users.json"


def demo_facts(url: str, passwords_file: Path) -> tuple[int, str, int]:
    """(base year, admin password, districts)."""
    from sqlalchemy import func, select

    from app.core.db import make_engine, make_sessionmaker
    from app.registry.models import AdminUnit, SchoolYear

    engine = make_engine(url)
    with make_sessionmaker(engine)() as s:
        years = sorted(s.scalars(select(SchoolYear.year)))
        districts = s.scalar(select(func.count()).where(AdminUnit.level == 2)) or 0
    engine.dispose()
    return years[0], json.loads(passwords_file.read_text())["admin"], int(districts)


def serve(url: str, tmp: Path, cache: bool) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "EMIS_DATABASE_URL": url,
        "EMIS_LOG_LEVEL": "WARNING",
        "EMIS_DATA_DIR": str(tmp),
        "EMIS_DEMO_MODE": "true",  # a throwaway server: no secret key needed
        "EMIS_FIGURES_CACHE": "1" if cache else "0",
        "PYTHONPATH": str(ROOT),
    }
    cmd = [sys.executable, "-m", "uvicorn", "app.asgi:app", "--port", str(port), "--log-level", "warning", "--no-access-log"]  # fmt: skip
    log = (tmp / f"server-{port}.log").open("wb")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(base + "/ready", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not start")


UNPACK = {
    "gzip": gzip.decompress,
    "zstd": lambda body: zstandard.ZstdDecompressor().decompress(body),
}


def run_http(
    url: str,
    year: int,
    password: str,
    clients: int,
    requests: int,
    cache: bool,
    tmp: Path,
    accept_encoding: str,
) -> dict:
    proc, base = serve(url, tmp, cache)
    try:
        token = httpx.post(
            base + "/api/v1/auth/token", data={"username": "admin", "password": password}
        ).json()["access_token"]
        params = {
            "year": year,
            "level": "0,2",
            "indicator": INDICATORS,
            "education_level": "primary",
        }
        headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": accept_encoding}
        t = time.perf_counter()
        first = httpx.get(base + "/api/v1/indicators", params=params, headers=headers, timeout=300)
        first_ms = 1000 * (time.perf_counter() - t)
        first.raise_for_status()
        rows = len(first.json()["rows"])
        latencies: list[float] = []
        wire: list[float] = []
        lock = threading.Lock()
        local = threading.local()

        def one(_: int) -> None:
            if not hasattr(local, "c"):
                local.c = httpx.Client(base_url=base, headers=headers, timeout=300)
            t = time.perf_counter()
            with local.c.stream("GET", "/api/v1/indicators", params=params) as r:
                body = b"".join(r.iter_raw())  # as it came over the wire (compressed)
                to_last_byte = time.perf_counter() - t
                r.raise_for_status()
                coding = r.headers.get("content-encoding")
            if coding:
                body = UNPACK[coding](body)  # what a client pays on top, in this process
            dt = time.perf_counter() - t
            with lock:
                latencies.append(dt)
                wire.append(to_last_byte)

        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(one, range(requests)))
        elapsed = time.perf_counter() - started
    finally:
        proc.terminate()
        proc.wait(20)
    latencies.sort()
    wire.sort()
    return {
        "first_ms": first_ms,
        "rows": rows,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * percentile(latencies, 0.99),
        "wire_p50_ms": 1000 * statistics.median(wire),
        "wire_p99_ms": 1000 * percentile(wire, 0.99),
        "requests_per_s": requests / elapsed,
        "content_encoding": first.headers.get("content-encoding"),
    }


def run_raw(url: str, year: int, clients: int, requests: int) -> dict:
    """The ceiling: the same totals (one-year and flow) read with one SQL query per request."""
    from sqlalchemy import bindparam, text

    from app.core.db import make_engine
    from app.indicators.service import _FLOW_ELEMENTS, _ONE_YEAR_ELEMENTS, DEFAULT_STATUSES

    engine = make_engine(url, pool_size=clients)
    elements = sorted({*_ONE_YEAR_ELEMENTS, *_FLOW_ELEMENTS})
    sql = text(
        " UNION ALL ".join(
            "SELECT s.unit_id, t.key, SUM(t.value), SUM(t.schools) "
            f"FROM indicator_split AS s JOIN {table} AS t ON t.split_id = s.id "
            "WHERE s.year = :y AND s.form_code = 'annual_school_census' AND s.status IN :s "
            "AND t.element IN :e GROUP BY s.unit_id, t.key"
            for table in ("indicator_sum", "flow_sum")
        )
    ).bindparams(
        bindparam("e", expanding=True),
        bindparam("s", expanding=True),
    )
    latencies: list[float] = []
    lock = threading.Lock()
    n_rows = [0]

    def one(_: int) -> None:
        with engine.connect() as c:
            t = time.perf_counter()
            got = c.execute(sql, {"y": year, "e": elements, "s": list(DEFAULT_STATUSES)}).all()
            dt = time.perf_counter() - t
        with lock:
            latencies.append(dt)
            n_rows[0] = len(got)

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(requests)))
    engine.dispose()
    latencies.sort()
    return {
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * percentile(latencies, 0.99),
        "rows": n_rows[0],
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--schools", type=int, nargs="+", default=[2000, 20000])
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--uncached-requests", type=int, default=40)
    ap.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "emis-bench-query"
    )
    ap.add_argument(
        "--accept-encoding",
        default="gzip, deflate, br, zstd",
        help="what the clients accept (default: what current browsers send; the server answers "
        "zstd, then gzip; 'gzip' measures a client without zstd)",
    )
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    results = []
    for n in args.schools:
        url = database(args.db, n, args.workdir)
        year, password, districts = demo_facts(url, _passwords_file(args.workdir, args.db, n))
        with tempfile.TemporaryDirectory() as tmp:
            enc = args.accept_encoding
            cached = run_http(
                url, year, password, args.clients, args.requests, True, Path(tmp), enc
            )
            uncached = run_http(
                url, year, password, args.clients, args.uncached_requests, False, Path(tmp), enc
            )
        raw = run_raw(url, year, args.clients, args.uncached_requests)
        results.append(
            {
                "schools": n,
                "districts": districts,
                "db": args.db,
                "cached": cached,
                "uncached": uncached,
                "raw_sql": raw,
            }
        )
        print(
            f"{args.db} {n:>7} schools ({districts} districts, {cached['rows']} rows): "
            f"cached p50 {cached['p50_ms']:.1f} ms p99 {cached['p99_ms']:.1f} ms "
            f"(to the last byte of the {cached['content_encoding']} body, before the client "
            f"decompresses it: p50 {cached['wire_p50_ms']:.1f} "
            f"ms p99 {cached['wire_p99_ms']:.1f} ms) "
            f"({cached['requests_per_s']:.0f}/s); uncached p50 {uncached['p50_ms']:.0f} ms "
            f"p99 {uncached['p99_ms']:.0f} ms; first {cached['first_ms']:.0f} ms; "
            f"raw SQL p50 {raw['p50_ms']:.0f} ms p99 {raw['p99_ms']:.0f} ms ({raw['rows']} rows)",
            flush=True,
        )
    print(json.dumps({"clients": args.clients, "results": results}))


if __name__ == "__main__":
    main()
