"""Client push benchmark: N demo returns imported and pushed through `emis-sync`'s Client to a
real uvicorn server, beside the server-only ingest of the same returns in the same run (raw
HTTP batches, as bench/ingest.py sends them, into a second fresh database).

    python bench/client_push.py --db sqlite --returns 2000
    python bench/client_push.py --db postgresql --returns 2000

The client runs in its own process, which reports its peak resident memory (VmHWM). Prints a
table and, last, one JSON object with the figures."""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ingest import (  # noqa: E402
    drop_database,
    free_port,
    fresh_database,
    make_items,
    prepare,
    rss_of_tree,
    run_http,
)

CLIENT = r"""
import json, sys, time
from pathlib import Path
from sync_client import Client

base, token, home, data = sys.argv[1:5]
c = Client.init(home, base)
c.set_token(token)
t = time.perf_counter(); c.pull(); pull_s = time.perf_counter() - t
t = time.perf_counter(); report = c.import_file(data); import_s = time.perf_counter() - t
assert report.ok, report.problems[:3]
t = time.perf_counter(); s = c.push(); push_s = time.perf_counter() - t
peak = 0
for line in Path("/proc/self/status").read_text().splitlines():
    if line.startswith("VmHWM:"):
        peak = int(line.split()[1]) * 1024
print(json.dumps({"pull_s": pull_s, "import_s": import_s, "push_s": push_s,
    "batches": s.batches, "applied": s.count("applied"), "duplicate": s.count("duplicate"),
    "outbox": c.outbox_size(), "peak_rss": peak}))
"""


def start_server(url: str, tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "EMIS_DATABASE_URL": url,
        "EMIS_LOG_LEVEL": "WARNING",
        "EMIS_DATA_DIR": str(tmp),
        "EMIS_DEMO_MODE": "true",  # a throwaway server: no secret key needed
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.asgi:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            if httpx.get(base + "/ready", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not start")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--returns", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        print(f"Preparing {args.returns} schools on {args.db} …", file=sys.stderr)
        url = fresh_database(args.db, "client", tmp)
        server_url = fresh_database(args.db, "server", tmp)
        try:
            year, schools, users, _ = prepare(url, args.returns, args.seed)
            prepare(server_url, args.returns, args.seed)
            items = make_items(year, schools, args.seed)
            data = tmp / "returns.jsonl"  # JSON Lines: the client reads it as it imports
            with open(data, "w", encoding="utf-8") as f:
                head = {"form": "annual_school_census", "form_version": 1, "year": year}
                f.write(json.dumps(head) + "\n")
                for i in items:
                    f.write(json.dumps({"school": i["school"], "values": i["values"]}) + "\n")
            proc, base = start_server(url, tmp)
            try:
                token = httpx.post(
                    base + "/api/v1/auth/token",
                    data={"username": "admin", "password": users["admin"]},
                ).json()["access_token"]
                print("Client: pull, import, push …", file=sys.stderr)
                done = subprocess.run(
                    [sys.executable, "-c", CLIENT, base, token, str(tmp / "home"), str(data)],
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                client = json.loads(done.stdout.strip().splitlines()[-1])
                server_rss = rss_of_tree(proc.pid)
            finally:
                proc.terminate()
                proc.wait(20)
            print("Server only: the same returns over raw HTTP …", file=sys.stderr)
            server = run_http(server_url, items, users, 200, 1, 1, tmp)
        finally:
            drop_database(url)
            drop_database(server_url)
    n = len(items)
    result = {
        "db": args.db,
        "returns": n,
        "client_returns_per_s": round(n / client["push_s"], 1),
        "client_push_s": round(client["push_s"], 2),
        "client_import_s": round(client["import_s"], 2),
        "client_pull_s": round(client["pull_s"], 2),
        "client_batches": client["batches"],
        "client_peak_rss_mb": round(client["peak_rss"] / 2**20, 1),
        "server_only_returns_per_s": round(server["returns_per_s"], 1),
        "ratio": round((n / client["push_s"]) / server["returns_per_s"], 3),
        "applied": client["applied"] + client["duplicate"],
        "outbox_after": client["outbox"],
        "server_rss_mb_after_client_push": round(server_rss / 2**20, 1),
        "cpus": os.cpu_count(),
    }
    print(f"{'':28}{'client':>12}{'server only':>14}")
    print(
        f"{'returns/s (push)':28}{result['client_returns_per_s']:>12}"
        f"{result['server_only_returns_per_s']:>14}"
    )
    print(f"{'client peak RSS MB':28}{result['client_peak_rss_mb']:>12}")
    print(
        f"{'client import s / pull s':28}{result['client_import_s']:>12} / {result['client_pull_s']}"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
