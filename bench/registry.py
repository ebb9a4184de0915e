"""Registry benchmark: time `emis demo` at full scale and the "everything below a region" queries.

    python bench/registry.py --db sqlite --schools 100000 [--returns]

Prints a table and, last, one JSON object with the figures."""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from app.core.db import make_engine, make_sessionmaker  # noqa: E402
from app.core.principal import Principal  # noqa: E402
from app.registry.models import AdminUnit, School  # noqa: E402
from app.registry.service import list_schools, list_units, subtree_filter  # noqa: E402
from bench.ingest import drop_database, fresh_database  # noqa: E402


def median_ms(fn, runs: int = 30) -> float:
    fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return round(statistics.median(times) * 1000, 2)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--schools", type=int, default=100_000)
    ap.add_argument("--returns", action="store_true", help="also fill the earlier year's returns")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = fresh_database(args.db, "registry", Path(tmp))
        try:
            env = {
                **os.environ,
                "EMIS_DATABASE_URL": url,
                "EMIS_DATA_DIR": tmp,
                "EMIS_DEMO_MODE": "true",
            }
            cmd = [
                sys.executable,
                "-m",
                "app.cli",
                "demo",
                "--schools",
                str(args.schools),
                "--no-serve",
                "--returns" if args.returns else "--no-returns",
            ]
            t = time.perf_counter()
            subprocess.run(cmd, env=env, check=True, cwd=ROOT, capture_output=True)
            demo_s = time.perf_counter() - t
            engine = make_engine(url)
            factory = make_sessionmaker(engine, write=False)
            with factory() as s:
                root = s.scalar(select(AdminUnit).where(AdminUnit.level == 0))
                region = s.scalar(select(AdminUnit).where(AdminUnit.code == "DM-R01"))
                units = s.scalar(select(func.count()).select_from(AdminUnit))
                nat = Principal(0, "bench", "analyst", root.id, root.code, root.path, 0)
                below = s.scalar(
                    select(func.count())
                    .select_from(School)
                    .join(AdminUnit, AdminUnit.id == School.admin_unit_id)
                    .where(subtree_filter(AdminUnit.path, region.path))
                )
                figures = {
                    "db": args.db,
                    "schools": args.schools,
                    "units": units,
                    "returns": args.returns,
                    "demo_seconds": round(demo_s, 1),
                    "region_units_ms": median_ms(lambda: list_units(s, "DM-R01", None, None, 1000)),
                    "region_schools_first_page_ms": median_ms(
                        lambda: list_schools(s, nat, "DM-R01", None, None, 100)
                    ),
                    "region_school_count": below,
                    "region_school_count_ms": median_ms(
                        lambda: s.scalar(
                            select(func.count())
                            .select_from(School)
                            .join(AdminUnit, AdminUnit.id == School.admin_unit_id)
                            .where(subtree_filter(AdminUnit.path, region.path))
                        )
                    ),
                    "raw_count_all_schools_ms": median_ms(
                        lambda: s.scalar(select(func.count()).select_from(School))
                    ),
                }
            engine.dispose()
        finally:
            drop_database(url)
    print(
        f"emis demo --schools {args.schools} on {args.db}: {figures['demo_seconds']} s "
        f"({figures['units']} admin units)"
    )
    print(f"units below a region (one page):          {figures['region_units_ms']} ms")
    print(
        f"schools below a region (first 100):        {figures['region_schools_first_page_ms']} ms"
    )
    print(
        f"count of the {below} schools below a region: {figures['region_school_count_ms']} ms "
        f"(raw count of every school: {figures['raw_count_all_schools_ms']} ms)"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
