"""Where ingest time goes: the push path's steps timed in-process, per return.

    python bench/ingest_breakdown.py [--db postgresql] [--returns 3000]

Parses, validates, checks and hashes each batch of 50 on its own, then runs the whole
`push_batch` + commit; storage is what `push_batch` costs beyond those steps."""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select

from app.auth.models import User
from app.core.db import make_engine, make_sessionmaker
from app.core.principal import Principal
from app.core.uow import Database, unit_of_work
from app.forms.service import FormCache
from app.registry.models import AdminUnit
from app.returns.service import content_hash
from app.sync.push import push
from app.sync.schemas import PushItem, PushRequest, PushResponse
from bench.ingest import drop_database, fresh_database, make_items, prepare


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="postgresql")
    ap.add_argument("--returns", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=50)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = fresh_database(args.db, "breakdown", Path(tmp))
        try:
            year, schools, _, _ = prepare(url, args.returns, 9)
            items = make_items(year, schools, 9)
            bodies = [
                orjson.dumps({"device_id": "d", "items": items[i : i + args.batch]})
                for i in range(0, len(items), args.batch)
            ]
            engine = make_engine(url)
            factory = make_sessionmaker(engine)
            db = Database(engine)
            with factory() as s:
                user, unit = s.execute(
                    select(User, AdminUnit)
                    .join(AdminUnit, AdminUnit.id == User.admin_unit_id)
                    .where(User.username == "admin")
                ).one()
            principal = Principal(
                user.id, user.username, user.role, unit.id, unit.code, unit.path, 0
            )
            forms = FormCache()
            with factory() as s:
                form = forms.get(s, "annual_school_census", 1)
            t_ = dict.fromkeys(
                ["parse", "validate", "check", "hash", "push_batch", "response"], 0.0
            )
            for body in bodies:
                t = time.perf_counter()
                data = orjson.loads(body)
                t_["parse"] += time.perf_counter() - t
                t = time.perf_counter()
                req = PushRequest.model_validate(data)
                parsed = [PushItem.model_validate(x) for x in req.items]
                t_["validate"] += time.perf_counter() - t
                t = time.perf_counter()
                for x in parsed:
                    form.check(x.values, None)  # type: ignore[union-attr]
                t_["check"] += time.perf_counter() - t
                t = time.perf_counter()
                for x in parsed:
                    content_hash(
                        x.form, x.form_version, x.year, x.school, x.base_revision, x.values
                    )
                t_["hash"] += time.perf_counter() - t
                t = time.perf_counter()
                with unit_of_work(db) as uow:
                    results = push(uow, principal, "d", req.items, forms)
                t_["push_batch"] += time.perf_counter() - t
                t = time.perf_counter()
                PushResponse(results=results).model_dump_json()
                t_["response"] += time.perf_counter() - t
            engine.dispose()
        finally:
            drop_database(url)
    n = len(items)
    per = {k: round(v / n * 1000, 3) for k, v in t_.items()}
    per["storage_and_rest"] = round(
        per["push_batch"] - per["validate"] / 2 - per["check"] - per["hash"], 3
    )
    for k, v in per.items():
        print(f"{k:18} {v:>7} ms/return")
    print(json.dumps({"db": args.db, "returns": n, **per}))


if __name__ == "__main__":
    main()
