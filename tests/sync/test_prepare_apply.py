"""Push in two phases (checks in a read session, then the write transaction): whatever another
writer commits in between is caught when the batch is applied, never stored twice."""

from sqlalchemy import func, select

from app.auth.service import resolve_token
from app.core.uow import unit_of_work
from app.forms.service import FormCache
from app.returns.models import ReturnRevision
from app.sync.push import _apply_batch, _prepare_batch
from tests.sync.helpers import clerk_schools, item

# push() runs both phases back to back; these tests reach between them to let another writer in.


def _prepare(demo, items):
    token = demo.token("clerk")
    with unit_of_work(demo.db) as uow:
        principal, _ = resolve_token(uow.reader, token)
        return _prepare_batch(uow, principal, "laptop-1", items, FormCache(), "en", True)


def _apply_results(demo, prepared):
    with unit_of_work(demo.db) as uow:
        return uow.transaction(lambda session: _apply_batch(session, prepared))


def _apply(demo, prepared):
    return [(r.status, r.revision) for r in _apply_results(demo, prepared)]


def _revisions(demo, push_id):
    with demo.factory() as session:
        return session.scalar(select(func.count()).where(ReturnRevision.push_id == push_id))


def test_same_id_prepared_twice_is_stored_once(demo):
    """A retry checked while the first try was still being stored gets `duplicate`."""
    year = demo.result.years[1]
    it = item(clerk_schools(demo)[0], year)
    first, retry = _prepare(demo, [it]), _prepare(demo, [it])
    assert _apply(demo, first) == [("applied", 1)]
    assert _apply(demo, retry) == [("duplicate", 1)]
    assert _revisions(demo, it["id"]) == 1


def test_two_devices_from_the_same_base_one_wins(demo):
    """Two first returns for one school, both checked before either is stored: one conflict."""
    year = demo.result.years[1]
    school = clerk_schools(demo)[0]
    a, b = item(school, year, seed=1), item(school, year, seed=2)
    pa, pb = _prepare(demo, [a]), _prepare(demo, [b])
    assert _apply(demo, pa) == [("applied", 1)]
    assert _apply(demo, pb) == [("conflict", None)]
    assert _revisions(demo, b["id"]) == 0


def test_a_stale_base_found_only_at_apply_is_a_conflict(demo):
    """Revision 2 from two devices, both based on 1: the second to be stored conflicts, and the
    good items of its batch are still applied."""
    year = demo.result.years[1]
    school, other = clerk_schools(demo)[:2]
    assert _apply(demo, _prepare(demo, [item(school, year)])) == [("applied", 1)]
    a, b = item(school, year, base=1, seed=3), item(school, year, base=1, seed=4)
    good = item(other, year)
    pa, pb = _prepare(demo, [a]), _prepare(demo, [b, good])
    assert _apply(demo, pa) == [("applied", 2)]
    assert _apply(demo, pb) == [("conflict", None), ("applied", 1)]


def test_a_later_revision_retried_between_the_phases_is_a_duplicate(demo):
    """Revision 2 sent, and its retry checked before the first try was stored: one revision 2."""
    year = demo.result.years[1]
    school = clerk_schools(demo)[0]
    assert _apply(demo, _prepare(demo, [item(school, year)])) == [("applied", 1)]
    second = item(school, year, base=1, seed=5)
    first_try, retry = _prepare(demo, [second]), _prepare(demo, [second])
    assert _apply(demo, first_try) == [("applied", 2)]
    assert _apply(demo, retry) == [("duplicate", 2)]
    assert _revisions(demo, second["id"]) == 1


def test_an_id_reused_between_the_phases_for_other_content_is_a_conflict(demo):
    """The same change id stored meanwhile for another school: nothing stored, ID_REUSED."""
    year = demo.result.years[1]
    a_school, b_school = clerk_schools(demo)[:2]
    a = item(a_school, year)
    b = {**item(b_school, year), "id": a["id"]}
    pa, pb = _prepare(demo, [a]), _prepare(demo, [b])
    assert _apply(demo, pa) == [("applied", 1)]
    results = _apply_results(demo, pb)
    assert results[0].status == "conflict"
    assert [e.code for e in results[0].errors] == ["ID_REUSED"]
    assert _revisions(demo, a["id"]) == 1
