"""Dashboard benchmark (issue 13): the server time and the weight of each dashboard page on a
demo country with returns for both years, signed in through the web form of a real uvicorn
server (one worker); beside it, in the same run, the raw ceiling of the same machine: a trivial
page of the same server and plain SQL over the kept totals.

    python bench/web.py --db sqlite                       # 20,000 schools, 30 requests a page
    python bench/web.py --db postgresql --schools 20000 --report-units nation region
    python bench/web.py --db sqlite --no-cache --requests 5   # every request after a change
    python bench/web.py --db sqlite --only district resources_region --profile /tmp/web-prof

Pages (as named in the table): the overview of the nation, of the first region and of that
region's first district (its schools' list), flow at the nation and the region, resources at the
region and the nation, completeness at the nation and the region, the first school of the
district, and the diagnosis report (HTML and PDF) of each --report-units; the latest year.

For each page: a fresh server, --cold-after seconds old (so the first request is cold: a new process, its caches empty,
the database files as the OS cache left them), sign-in (GET /web/login for the csrf field and the
emis_presign cookie, POST /web/login for the emis_session cookie), the first request timed, then
--requests sequential requests: p50 and p99 (nearest rank: with 30 requests the p99 is the
slowest) of the wall time on loopback, from sending the request to the last byte of the body as
it came over the wire (the client does not decompress inside the timing). Every request sends
Accept-Encoding: gzip; "wire" is the body bytes received (gzip when the server compressed it),
"raw" the decompressed HTML. A Server-Timing header is read when the server sends one.

Weight: the HTML on the wire plus every script and stylesheet the page references (<script src>,
<link rel=stylesheet href>), each fetched once from the same server with Accept-Encoding: gzip;
whether the server compressed each is reported (static files go through the app's middleware).

The diagnosis report (GET /reports/diagnosis/{unit}?year=Y, and &format=pdf) is measured the same
way; a 404 there is reported as "missing" (not built yet), not as a failure.

Raw ceiling: GET /health and GET /api/v1/indicators/definitions (a bearer token) on the same kind
of fresh server, and the kept totals read with one SQL SELECT: bench/query.py's query (every
leaf unit, one-year and flow totals) and the same restricted to one region's districts.

Databases: bench/query.py's (built once per size and kind with both years of returns, kept in
--workdir with the users' passwords, ANALYZE on PostgreSQL); the same files and databases are
reused by both benchmarks. --profile DIR runs each page's server under pyinstrument (the sync
work of every request: dependencies and the page, in FastAPI's thread pool) and writes
DIR/<page>.cold.txt/.html (sign-in and the cold request) and DIR/<page>.txt/.html (the repeated
requests); profiled figures are not the benchmark's. --rebuild runs `emis indicators rebuild`
on a kept database first (after a migration that adds kept values).

Prints a table and, last, one JSON object."""

import argparse
import gzip
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from bench.ingest import free_port, percentile, source_commit  # noqa: E402
from bench.query import _passwords_file, database, run_raw  # noqa: E402

TARGET_P50_MS = 150.0
TARGET_PAGE_BYTES = 1_000_000
TARGET_PDF_S = 10.0


# -- the demo's facts -----------------------------------------------------------------------


def facts(url: str, kind: str, n: int, workdir: Path, rebuild: bool = False) -> dict[str, Any]:
    """Years, the nation, the first region, its first district, that district's first school,
    the admin's password, and the counts the report names."""
    from sqlalchemy import func, select

    from app.core.db import make_engine, make_sessionmaker
    from app.core.migrate import upgrade
    from app.registry.models import AdminUnit, School, SchoolYear

    upgrade(url)  # a database kept from an earlier run gets this code's migrations
    if rebuild:  # and, after a migration that adds kept columns, their values
        t = time.perf_counter()
        env = {**os.environ, "EMIS_DATABASE_URL": url, "EMIS_DEMO_MODE": "true"}
        subprocess.run(
            [str(Path(sys.executable).with_name("emis")), "indicators", "rebuild"],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        if url.startswith("postgresql"):
            from sqlalchemy import text

            eng = make_engine(url)
            with eng.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(text("ANALYZE"))
            eng.dispose()
        print(f"emis indicators rebuild: {time.perf_counter() - t:.0f} s", file=sys.stderr)
    engine = make_engine(url)
    with make_sessionmaker(engine)() as s:
        years = sorted(s.scalars(select(SchoolYear.year)))
        nation = s.scalars(select(AdminUnit).where(AdminUnit.level == 0)).first()
        region = s.scalars(
            select(AdminUnit).where(AdminUnit.level == 1).order_by(AdminUnit.code)
        ).first()
        district = s.scalars(
            select(AdminUnit).where(AdminUnit.parent_id == region.id).order_by(AdminUnit.code)
        ).first()
        school = s.scalars(
            select(School.code).where(School.admin_unit_id == district.id).order_by(School.code)
        ).first()

        def count_under(path: str) -> int:
            return int(
                s.scalar(
                    select(func.count())
                    .select_from(School)
                    .join(AdminUnit, AdminUnit.id == School.admin_unit_id)
                    .where(AdminUnit.path.startswith(path))
                )
                or 0
            )

        def public_under(path: str) -> int:
            return int(
                s.scalar(
                    select(func.count())
                    .select_from(School)
                    .join(AdminUnit, AdminUnit.id == School.admin_unit_id)
                    .where(AdminUnit.path.startswith(path), School.ownership == "public")
                )
                or 0
            )

        out = {
            "years": years,
            "year": years[-1],
            "nation": nation.code,
            "region": region.code,
            "district": district.code,
            "school": school,
            "districts": int(s.scalar(select(func.count()).where(AdminUnit.level == 2)) or 0),
            "region_district_ids": [
                int(i)
                for i in s.scalars(
                    select(AdminUnit.id).where(AdminUnit.path.startswith(region.path))
                )
            ],
            "schools_nation": count_under(nation.path),
            "schools_region": count_under(region.path),
            "schools_district": count_under(district.path),
            "public_region": public_under(region.path),
        }
    engine.dispose()
    out["password"] = json.loads(_passwords_file(workdir, kind, n).read_text())["admin"]
    return out


def pages(ft: dict[str, Any], report_units: list[str]) -> list[tuple[str, str]]:
    """(name, path and query) of every page measured; the year is the latest, as the nav's links
    carry it."""
    y = ft["year"]
    nat, reg, dis = ft["nation"], ft["region"], ft["district"]
    out = [
        ("overview_nation", f"/web/units/{nat}?year={y}"),
        ("overview_region", f"/web/units/{reg}?year={y}"),
        ("district", f"/web/units/{dis}?year={y}"),
        ("flow_nation", f"/web/units/{nat}/flow?year={y}"),
        ("flow_region", f"/web/units/{reg}/flow?year={y}"),
        ("resources_region", f"/web/units/{reg}/resources?year={y}"),
        ("resources_nation", f"/web/units/{nat}/resources?year={y}"),
        ("completeness_nation", f"/web/units/{nat}/completeness?year={y}"),
        ("completeness_region", f"/web/units/{reg}/completeness?year={y}"),
        ("school", f"/web/schools/{ft['school']}?year={y}"),
    ]
    for u in report_units:
        code = {"nation": nat, "region": reg, "district": dis}.get(u, u)
        tag = u if u in ("nation", "region", "district") else code
        out.append((f"report_html_{tag}", f"/reports/diagnosis/{code}?year={y}"))
        out.append((f"report_pdf_{tag}", f"/reports/diagnosis/{code}?year={y}&format=pdf"))
    return out


# -- the server -----------------------------------------------------------------------------


def serve(
    url: str, tmp: Path, cache: bool, profile: Path | None = None
) -> tuple[subprocess.Popen[bytes], str, Path]:
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
    if profile is not None:
        cmd = [sys.executable, str(HERE), "--serve-profiled", str(profile), "--port", str(port)]
    else:
        cmd = [sys.executable, "-m", "uvicorn", "app.asgi:app", "--port", str(port), "--log-level", "warning", "--no-access-log"]  # fmt: skip
    log_path = tmp / f"server-{port}.log"
    with log_path.open("wb") as log:  # a file, not a pipe that could fill up and block it
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        if proc.poll() is not None:
            break
        try:
            if httpx.get(base + "/ready", timeout=1).status_code == 200:
                return proc, base, log_path
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise ServerDidNotStart(log_path.read_text(errors="replace")[-3000:])


class ServerDidNotStart(RuntimeError):
    """The server exited or never answered /ready (its log's tail is the message)."""


def stop(proc: subprocess.Popen[bytes], profiled: bool = False) -> None:
    proc.terminate()
    try:
        proc.wait(120 if profiled else 20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def serve_profiled(out: Path, port: int) -> None:
    """One uvicorn server in this process; every call FastAPI makes into its thread pool (the
    sync dependencies and the page) runs under a pyinstrument profiler of that thread. SIGUSR1
    (sent by the benchmark after the sign-in and the cold request) writes what was recorded so
    far to out.cold.txt/.html and starts afresh; on SIGTERM the rest (the repeated requests) goes
    to out.txt and out.html."""
    import anyio.to_thread
    import uvicorn
    from pyinstrument import Profiler
    from pyinstrument.renderers import ConsoleRenderer, HTMLRenderer
    from pyinstrument.session import Session

    sessions: list[Session] = []
    lock = threading.Lock()
    original = anyio.to_thread.run_sync

    async def run_sync(func, *args, **kwargs):  # type: ignore[no-untyped-def]
        def profiled(*a):  # type: ignore[no-untyped-def]
            p = Profiler(interval=0.0005, async_mode="disabled")
            p.start()
            try:
                return func(*a)
            finally:
                p.stop()
                if p.last_session is not None:
                    with lock:
                        sessions.append(p.last_session)

        return await original(profiled, *args, **kwargs)

    def write(stem: str) -> None:
        with lock:
            taken = sessions[:]
            sessions.clear()
        if not taken:
            return
        combined = taken[0]
        for s in taken[1:]:
            combined = Session.combine(combined, s)
        text = ConsoleRenderer(unicode=True, color=False, show_all=False, short_mode=False)
        Path(stem + ".txt").write_text(text.render(combined))
        Path(stem + ".html").write_text(HTMLRenderer().render(combined))

    anyio.to_thread.run_sync = run_sync  # starlette's run_in_threadpool calls it by this name
    signal.signal(signal.SIGUSR1, lambda *_: write(str(out) + ".cold"))
    signal.signal(signal.SIGTERM, lambda *_: None)  # let uvicorn.run return (see ingest.py)
    uvicorn.run("app.asgi:app", host="127.0.0.1", port=port, log_level="warning", access_log=False)
    write(str(out))


def sign_in(client: httpx.Client, password: str) -> None:
    form = client.get("/web/login")
    form.raise_for_status()
    m = re.search(r'name="csrf" value="([^"]+)"', form.text)
    if not m or "emis_presign" not in client.cookies:
        raise SystemExit("the sign-in form has no csrf field or set no emis_presign cookie")
    r = client.post(
        "/web/login",
        data={"username": "admin", "password": password, "csrf": m.group(1), "next": "/web/"},
    )
    if r.status_code != 303 or "emis_session" not in client.cookies:
        raise SystemExit(f"sign-in failed: {r.status_code} {r.text[:300]}")


def fetch(client: httpx.Client, path: str, timeout: float = 300) -> dict[str, Any]:
    """One timed GET: seconds to the last wire byte, the wire and decompressed sizes."""
    t = time.perf_counter()
    with client.stream("GET", path, timeout=timeout) as r:
        wire = b"".join(r.iter_raw())
        dt = time.perf_counter() - t
    enc = r.headers.get("content-encoding", "")
    body = gzip.decompress(wire) if enc == "gzip" else wire
    return {
        "status": r.status_code,
        "seconds": dt,
        "wire": len(wire),
        "raw": len(body),
        "encoding": enc,
        "type": r.headers.get("content-type", ""),
        "server_timing": r.headers.get("server-timing"),
        "body": body,
    }


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.found.append(str(a["src"]))
        elif tag == "link" and "stylesheet" in (a.get("rel") or "").split() and a.get("href"):
            self.found.append(str(a["href"]))


def assets_of(html: bytes) -> list[str]:
    p = _Assets()
    p.feed(html.decode("utf-8", "replace"))
    return [u for u in dict.fromkeys(p.found) if u.startswith("/")]  # this server's only


def log_tail(log: Path, since: int) -> str:
    text = log.read_bytes()[since:].decode(errors="replace")
    return text[-6000:]


def run_page(
    url: str,
    ft: dict[str, Any],
    name: str,
    path: str,
    n: int,
    budget: float,
    tmp: Path,
    cache: bool,
    asset_cache: dict[str, dict[str, Any]],
    profile_dir: Path | None,
    cold_after: float = 0.0,
) -> dict[str, Any]:
    profile = (profile_dir / name) if profile_dir else None
    out: dict[str, Any] = {"page": name, "path": path}
    try:
        proc, base, log = serve(url, tmp, cache, profile)
    except ServerDidNotStart as exc:
        out.update(status=None, error="the server did not start", server_log=str(exc))
        return out
    try:
        with httpx.Client(base_url=base, headers={"Accept-Encoding": "gzip"}) as c:
            sign_in(c, ft["password"])
            time.sleep(cold_after)
            start = log.stat().st_size
            first = fetch(c, path)
            out.update(
                status=first["status"],
                cold_ms=1000 * first["seconds"],
                raw_bytes=first["raw"],
                wire_bytes=first["wire"],
                encoding=first["encoding"],
                content_type=first["type"],
                server_timing=first["server_timing"],
            )
            if first["status"] == 404 and name.startswith("report_"):
                out["missing"] = True
                return out
            if first["status"] >= 400:
                out["error"] = first["body"][:500].decode(errors="replace")
                out["server_log"] = log_tail(log, start)
                return out
            if profile is not None:  # the cold request's profile apart from the repeats'
                proc.send_signal(signal.SIGUSR1)
                time.sleep(1)
            times: list[float] = []
            timings: list[str] = []
            began = time.perf_counter()
            for _ in range(n):
                got = fetch(c, path)
                if got["status"] != first["status"]:
                    out["error"] = f"status {got['status']} on a repeat"
                    out["server_log"] = log_tail(log, start)
                    break
                times.append(got["seconds"])
                if got["server_timing"]:
                    timings.append(got["server_timing"])
                if time.perf_counter() - began > budget:
                    break
            times.sort()
            if times:
                out.update(
                    requests=len(times),
                    p50_ms=1000 * statistics.median(times),
                    p99_ms=1000 * percentile(times, 0.99),
                    min_ms=1000 * times[0],
                )
            if timings:
                out["server_timing_last"] = timings[-1]
            if "html" in first["type"]:
                total = first["wire"]
                total_raw = first["raw"]
                listed = []
                for a in assets_of(first["body"]):
                    if a not in asset_cache:
                        got = fetch(c, a)
                        asset_cache[a] = {
                            k: got[k] for k in ("status", "wire", "raw", "encoding", "type")
                        }
                    info = asset_cache[a]
                    listed.append(a)
                    total += info["wire"]
                    total_raw += info["raw"]
                out.update(assets=listed, total_wire_bytes=total, total_raw_bytes=total_raw)
    finally:
        stop(proc, profile is not None)
    return out


def run_ceiling(url: str, ft: dict[str, Any], n: int, raw_n: int, tmp: Path) -> dict[str, Any]:
    """A trivial page and an authenticated JSON page of the same kind of server; plain SQL."""
    out: dict[str, Any] = {}
    try:
        proc, base, _log = serve(url, tmp, True)
    except ServerDidNotStart as exc:
        print(f"ceiling server did not start:\n{exc}", file=sys.stderr)
        proc = None
    try:
        if proc is None:
            raise LookupError
        token = httpx.post(
            base + "/api/v1/auth/token", data={"username": "admin", "password": ft["password"]}
        ).json()["access_token"]
        with httpx.Client(
            base_url=base,
            headers={"Accept-Encoding": "gzip", "Authorization": f"Bearer {token}"},
        ) as c:
            for key, path in (("health", "/health"), ("definitions", "/api/v1/indicators/definitions")):  # fmt: skip
                first = fetch(c, path)
                times = sorted(fetch(c, path)["seconds"] for _ in range(n))
                out[key] = {
                    "path": path,
                    "status": first["status"],
                    "cold_ms": 1000 * first["seconds"],
                    "p50_ms": 1000 * statistics.median(times),
                    "p99_ms": 1000 * percentile(times, 0.99),
                    "wire_bytes": first["wire"],
                    "raw_bytes": first["raw"],
                }
    except LookupError:
        pass
    finally:
        if proc is not None:
            stop(proc)
    out["sql_all_leaves"] = run_raw(url, ft["year"], 1, raw_n)
    out["sql_region"] = run_raw_region(url, ft["year"], ft["region_district_ids"], raw_n)
    return out


def run_raw_region(url: str, year: int, unit_ids: list[int], requests: int) -> dict[str, Any]:
    """bench/query.py's SELECT over the kept totals, restricted to one region's units."""
    from sqlalchemy import bindparam, text

    from app.core.db import make_engine
    from app.indicators.service import _FLOW_ELEMENTS, _ONE_YEAR_ELEMENTS, DEFAULT_STATUSES

    engine = make_engine(url)
    elements = sorted({*_ONE_YEAR_ELEMENTS, *_FLOW_ELEMENTS})
    sql = text(
        " UNION ALL ".join(
            "SELECT s.unit_id, t.key, SUM(t.value), SUM(t.schools) "
            f"FROM indicator_split AS s JOIN {table} AS t ON t.split_id = s.id "
            "WHERE s.year = :y AND s.form_code = 'annual_school_census' AND s.status IN :s "
            "AND s.unit_id IN :u AND t.element IN :e GROUP BY s.unit_id, t.key"
            for table in ("indicator_sum", "flow_sum")
        )
    ).bindparams(
        bindparam("e", expanding=True),
        bindparam("s", expanding=True),
        bindparam("u", expanding=True),
    )
    times: list[float] = []
    rows = 0
    params = {"y": year, "e": elements, "s": list(DEFAULT_STATUSES), "u": unit_ids}
    for _ in range(requests):
        with engine.connect() as c:
            t = time.perf_counter()
            rows = len(c.execute(sql, params).all())
            times.append(time.perf_counter() - t)
    engine.dispose()
    times.sort()
    return {
        "p50_ms": 1000 * statistics.median(times),
        "p99_ms": 1000 * percentile(times, 0.99),
        "rows": rows,
    }


# -- the report -----------------------------------------------------------------------------


def _kb(b: int | None) -> str:
    return "–" if b is None else f"{b / 1000:,.0f}"


def _ms(v: float | None) -> str:
    return "–" if v is None else (f"{v:,.0f}" if v >= 100 else f"{v:.1f}")


def print_table(db: str, n: int, results: list[dict[str, Any]], ceiling: dict[str, Any]) -> None:
    print(f"\n{db}, {n:,} schools — ms on loopback; kB = 1000 bytes")
    head = f"{'page':22}{'status':>7}{'cold':>8}{'p50':>8}{'p99':>8}{'n':>4}{'raw kB':>9}{'gzip kB':>9}{'+assets kB':>11}"
    print(head)
    print("-" * len(head))
    for r in results:
        status = "missing" if r.get("missing") else str(r.get("status"))
        print(
            f"{r['page']:22}{status:>7}{_ms(r.get('cold_ms')):>8}{_ms(r.get('p50_ms')):>8}"
            f"{_ms(r.get('p99_ms')):>8}{r.get('requests', 0):>4}{_kb(r.get('raw_bytes')):>9}"
            f"{_kb(r.get('wire_bytes')):>9}{_kb(r.get('total_wire_bytes')):>11}"
        )
    for key in ("health", "definitions"):
        if key not in ceiling:
            continue
        h = ceiling[key]
        print(
            f"{'ceiling ' + key:22}{h['status']:>7}{_ms(h['cold_ms']):>8}{_ms(h['p50_ms']):>8}"
            f"{_ms(h['p99_ms']):>8}"
        )
    for key in ("sql_all_leaves", "sql_region"):
        s = ceiling[key]
        print(
            f"{'ceiling ' + key:22}{'':>7}{'':>8}{_ms(s['p50_ms']):>8}{_ms(s['p99_ms']):>8}"
            f"   ({s['rows']:,} rows)"
        )


def verdict(results: list[dict[str, Any]]) -> dict[str, Any]:
    dash = [r for r in results if not r["page"].startswith("report_") and "p50_ms" in r]
    over = [r["page"] for r in dash if r["p50_ms"] > TARGET_P50_MS]
    failed = [r["page"] for r in results if r.get("error")]
    heavy = max(
        (r for r in results if "total_wire_bytes" in r),
        key=lambda r: r["total_wire_bytes"],
        default=None,
    )
    pdfs = [r for r in results if r["page"].startswith("report_pdf")]
    pdf_ok = [r for r in pdfs if r.get("status") == 200 and "cold_ms" in r]
    return {
        "pages_over_p50_target": over,
        "pages_failed": failed,
        "slowest_page": max(dash, key=lambda r: r["p50_ms"])["page"] if dash else None,
        "p50_target_met": not over and not failed and bool(dash),
        "heaviest_page": heavy["page"] if heavy else None,
        "heaviest_total_wire_bytes": heavy["total_wire_bytes"] if heavy else None,
        "weight_target_met": heavy is not None and heavy["total_wire_bytes"] < TARGET_PAGE_BYTES,
        "pdf_missing": any(r.get("missing") for r in pdfs),
        "pdf_cold_s": max((r["cold_ms"] / 1000 for r in pdf_ok), default=None),
        "pdf_p50_s": max((r.get("p50_ms", 0) / 1000 for r in pdf_ok), default=None),
        "pdf_target_met": bool(pdf_ok)
        and all(r["cold_ms"] / 1000 < TARGET_PDF_S for r in pdf_ok)
        and len(pdf_ok) == len(pdfs),
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--schools", type=int, default=20000)
    ap.add_argument("--requests", type=int, default=30, help="sequential requests per page")
    ap.add_argument(
        "--budget", type=float, default=120.0, help="seconds of repeats per page at most"
    )
    ap.add_argument("--raw-requests", type=int, default=10, help="plain SQL queries per ceiling")
    ap.add_argument(
        "--report-units",
        nargs="*",
        default=["nation"],
        help="units of the diagnosis report: nation, region, district or a code",
    )
    ap.add_argument("--only", nargs="*", help="measure only these pages (names as printed)")
    ap.add_argument("--no-cache", action="store_true", help="servers with EMIS_FIGURES_CACHE=0")
    ap.add_argument(
        "--profile", type=Path, metavar="DIR", help="pyinstrument each page's server into DIR"
    )
    ap.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "emis-bench-query"
    )
    ap.add_argument(
        "--rebuild",
        action="store_true",
        help="run `emis indicators rebuild` (and ANALYZE) on the kept database first: after a "
        "migration that adds kept values an old database would otherwise lack",
    )
    ap.add_argument(
        "--cold-after",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds between a fresh server's start and its first (cold) request (default 10: "
        "a server that has been up a little while, its renderers warmed in the background, its "
        "figure caches still empty); 0 races the warm-up",
    )
    ap.add_argument("--serve-profiled", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_profiled:
        serve_profiled(args.serve_profiled, args.port)
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    load_start = os.getloadavg()  # this machine is shared: say how busy it was
    commit_start = source_commit(ROOT)  # and its code changes under a long run: say if it did
    url = database(args.db, args.schools, args.workdir)
    ft = facts(url, args.db, args.schools, args.workdir, args.rebuild)
    todo = pages(ft, args.report_units)
    if args.only:
        todo = [(n, p) for n, p in todo if n in args.only]
    results: list[dict[str, Any]] = []
    assets: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for name, path in todo:
            print(f"{name}: {path}", file=sys.stderr, flush=True)
            r = run_page(
                url,
                ft,
                name,
                path,
                args.requests,
                args.budget,
                tmp,
                not args.no_cache,
                assets,
                args.profile,
                args.cold_after,
            )
            if r.get("server_log"):
                print(f"  {r['status']} on {path}:\n{r['server_log']}", file=sys.stderr)
            print(
                f"  status {r.get('status')} cold {_ms(r.get('cold_ms'))} ms p50 "
                f"{_ms(r.get('p50_ms'))} p99 {_ms(r.get('p99_ms'))} ms wire {_kb(r.get('wire_bytes'))} kB",
                file=sys.stderr,
                flush=True,
            )
            results.append(r)
        print("ceiling", file=sys.stderr, flush=True)
        ceiling = run_ceiling(url, ft, args.requests, args.raw_requests, tmp)
    print_table(args.db, args.schools, results, ceiling)
    print("\nassets (fetched once, Accept-Encoding: gzip):")
    for a, info in assets.items():
        print(
            f"  {a:44}{info['status']:>4}{_kb(info['raw']):>8} kB raw{_kb(info['wire']):>8} kB "
            f"wire  {info['encoding'] or 'not compressed'}"
        )
    v = verdict(results)
    print(
        f"\ntargets: p50 ≤ {TARGET_P50_MS:.0f} ms every page: "
        f"{'met' if v['p50_target_met'] else 'NOT met'} (over: {', '.join(v['pages_over_p50_target']) or 'none'}; "
        f"failed: {', '.join(v['pages_failed']) or 'none'}; slowest {v['slowest_page']}); "
        f"heaviest page {v['heaviest_page']} {_kb(v['heaviest_total_wire_bytes'])} kB with its "
        f"scripts and styles (< 1,000 kB: {'met' if v['weight_target_met'] else 'NOT met'}); "
        f"PDF under {TARGET_PDF_S:.0f} s: "
        + (
            "missing (no route yet)"
            if v["pdf_missing"]
            else "; ".join(
                f"{r['page']} cold {r['cold_ms'] / 1000:.1f} s, p50 {r['p50_ms'] / 1000:.1f} s "
                f"({'met' if r['cold_ms'] / 1000 < TARGET_PDF_S else 'NOT met'} cold, "
                f"{'met' if r['p50_ms'] / 1000 < TARGET_PDF_S else 'NOT met'} warm)"
                if r.get("status") == 200 and "p50_ms" in r
                else f"{r['page']} failed ({r.get('status')})"
                for r in results
                if r["page"].startswith("report_pdf")
            )
            or "not measured"
        )
    )
    print(
        f"load average at start {tuple(round(x, 1) for x in load_start)}, at the end "
        f"{tuple(round(x, 1) for x in os.getloadavg())}; code {commit_start} at start, "
        f"{source_commit(ROOT)} at the end"
    )
    for r in results:
        r.pop("server_log", None)
    print(
        json.dumps(
            {
                "db": args.db,
                "schools": args.schools,
                "requests": args.requests,
                "figures_cache": not args.no_cache,
                "cold_after_s": args.cold_after,
                "profiled": bool(args.profile),
                "facts": {
                    k: v for k, v in ft.items() if k not in ("password", "region_district_ids")
                },
                "pages": results,
                "assets": assets,
                "ceiling": ceiling,
                "verdict": v,
                "cpus": os.cpu_count(),
                "load_average_start": load_start,
                "load_average_end": os.getloadavg(),
                "commit_start": commit_start,
                "commit": source_commit(ROOT),
            },
            default=str,
        )
    )


if __name__ == "__main__":
    main()
