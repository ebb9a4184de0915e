"""The change log stays bounded: compaction up to a horizon removes what no fresh pull needs,
cursors older than the horizon get 410, and a fresh pull still gives everything."""

from sqlalchemy import func, select

from app.core.changelog import SyncChange, compact, last_sequence
from app.core.uow import unit_of_work
from tests.sync.helpers import clerk_schools, item, push
from tests.sync.test_reorg import _apply, _pull


def _rows(demo) -> int:
    with demo.db.reader() as s:
        return int(s.scalar(select(func.count()).select_from(SyncChange)) or 0)


def test_compaction_drops_replaced_rows_and_old_cursors_get_410(demo):
    clerk = demo.auth("clerk")
    year = demo.result.years[1]
    school = clerk_schools(demo)[0]
    _, old_cursor = _pull(demo, clerk)
    # Three revisions of one return: three rows in the log, one of them is enough.
    base = 0
    for seed in range(3):
        r = push(demo, [item(school, year, base=base, seed=seed)]).json()["results"][0]
        assert r["status"] == "applied"
        base = r["revision"]
    before_rows = _rows(demo)
    expected_fresh: dict = {}
    _apply(expected_fresh, _pull(demo, clerk)[0])

    with unit_of_work(demo.db) as uow:
        removed = compact(uow.session, last_sequence(uow.session))
    assert removed >= 2
    assert _rows(demo) == before_rows - removed

    gone = demo.client.get(f"/api/v1/sync/pull?cursor={old_cursor}", headers=clerk)
    assert gone.status_code == 410
    assert gone.headers["content-type"].startswith("application/problem+json")
    fresh: dict = {}
    _apply(fresh, _pull(demo, clerk)[0])
    assert fresh == expected_fresh
    assert fresh[("return", f"annual_school_census/{year}/{school}")]["revision"] == 3
