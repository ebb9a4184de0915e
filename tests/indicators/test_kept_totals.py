"""Kept totals equal a fresh count after any mix of pushes, revisions, status changes and school
moves; the sum over a unit's children equals the unit; a new revision replaces the old one's
contribution (properties, on the hand-made country)."""

import uuid
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from app.core.db import make_engine
from app.core.uow import Database, unit_of_work
from app.forms.service import FormCache
from app.indicators import service
from app.indicators.keep import _docs_of_sql, delta_rows, kept_rows, recount, table_rows
from app.indicators.models import FlowTotal, IndicatorCells, IndicatorPlacement
from app.registry import service as registry
from app.returns.service import ReturnStatus, change_status, return_states_of_schools
from app.sync.push import push
from tests.indicators import country
from tests.indicators.country import T1, T

SCHOOLS = [s["code"] for s in country.schools()]


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    engine = make_engine(db_url)
    database = Database(engine)
    country.build(database)
    yield database
    engine.dispose()


def _school(code: str) -> dict[str, Any]:
    return next(s for s in country.schools() if s["code"] == code)


def revise(db: Database, code: str, year: int, k: int) -> None:
    admin = country.admin_principal(db)
    with db.reader() as s:
        sid = registry.schools_by_code(s, [code])[code][0]
        states = [r for r in return_states_of_schools(s, [sid]) if r.year == year]
        levels = registry.school_placements(s, [sid])[sid].levels
    if states and states[0].status in ("approved", "locked"):
        # An approved or locked return takes no revision until it is reopened, as in life.
        set_status(db, code, year, "returned")
    item = {
        "id": str(uuid.uuid4()),
        "form": country.FORM,
        "form_version": 1,
        "year": year,
        "school": code,
        "base_revision": states[0].revision if states else 0,
        "values": country.values(year, k, "lower_secondary" in levels),
    }
    with unit_of_work(db, actor=admin) as uow:
        (result,) = push(uow, admin, "prop", [item], FormCache(), enforce_window=False)
    assert result.status == "applied", result


def set_status(db: Database, code: str, year: int, status: str) -> None:
    with unit_of_work(db) as uow:
        sid = registry.schools_by_code(uow.session, [code])[code][0]
        for r in return_states_of_schools(uow.session, [sid]):
            if r.year == year:
                change_status(uow.session, r.id, ReturnStatus(status), by=None, at=uow.now)


def move(db: Database, code: str, district: str, ownership: str, levels: list[str]) -> None:
    row = {**_school(code), "unit": district, "ownership": ownership, "levels": levels}
    with unit_of_work(db) as uow:
        registry.upsert_schools(uow.session, [row])


def assert_kept_equals_recount(db: Database) -> None:
    with db.reader() as s:
        one_year, flows, placements = recount(s)
        assert kept_rows(s) == delta_rows(one_year)
        # A split no school counts in any more keeps no (empty) document behind.
        docs = IndicatorCells.__table__  # type: ignore[attr-defined]
        assert all(cells for (cells,) in s.execute(select(docs.c.cells)))
        assert table_rows(s, FlowTotal) == delta_rows(flows)
        # Each school's own figures, kept with its placement, as a recount makes them.
        t = IndicatorPlacement.__table__  # type: ignore[attr-defined]
        kept = {r.return_id: r.figures for r in s.execute(select(t.c.return_id, t.c.figures))}
        assert kept == {p.return_id: p.figures for p in placements}


def assert_children_sum_to_parent(db: Database) -> None:
    admin = country.admin_principal(db)
    with db.reader() as s:
        for year in (T, T1):
            by_level = {}
            for level in (0, 1, 2):
                q = service.AggregateQuery(
                    year=year, levels=(level,), unit=None, element="enrolment", by=("grade", "sex"),
                    statuses=service.DEFAULT_STATUSES, form=country.FORM, ownership=None, locality=None,
                )  # fmt: skip
                sums: dict[tuple[str, ...], int] = defaultdict(int)
                for r in service.aggregates(s, admin, q).data["rows"]:
                    sums[tuple(sorted(r["disaggregation"].items()))] += r["value"]
                by_level[level] = dict(sums)
            assert by_level[0] == by_level[1] == by_level[2]


op = st.one_of(
    st.tuples(st.just("revise"), st.sampled_from(SCHOOLS), st.sampled_from([T, T1]), st.integers(0, 4)),
    st.tuples(st.just("status"), st.sampled_from(SCHOOLS), st.sampled_from([T, T1]), st.sampled_from(["submitted", "invalid", "returned", "approved", "locked"])),
    st.tuples(st.just("move"), st.sampled_from(SCHOOLS), st.sampled_from(country.DISTRICTS), st.sampled_from(["public", "private"]), st.sampled_from([["primary"], ["primary", "lower_secondary"]])),
)  # fmt: skip


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(op, min_size=1, max_size=6))
def test_kept_totals_equal_a_recount_after_any_mix(
    db: Database, ops: list[tuple[Any, ...]]
) -> None:
    for o in ops:
        if o[0] == "revise":
            revise(db, o[1], o[2], o[3])
        elif o[0] == "status":
            set_status(db, o[1], o[2], o[3])
        else:
            move(db, o[1], o[2], o[3], o[4])
    assert_kept_equals_recount(db)
    assert_children_sum_to_parent(db)


def test_a_new_revision_replaces_the_old_contribution(db: Database) -> None:
    admin = country.admin_principal(db)

    def p1_girls() -> int:
        with db.reader() as s:
            q = service.AggregateQuery(
                year=T, levels=(2,), unit="DM-R01-D001", element="enrolment", by=("grade", "sex"),
                statuses=service.DEFAULT_STATUSES, form=country.FORM, ownership=None, locality=None,
            )  # fmt: skip
            rows = service.aggregates(s, admin, q).data["rows"]
        return next(r["value"] for r in rows if r["disaggregation"] == {"grade": "P1", "sex": "F"})

    # D001 in 2024: k = 1, 2, 3: 6 x 12 P1 girls.
    assert p1_girls() == 72
    revise(db, "HC-13", T, 1)  # the k = 3 school now sends the base school's figures
    assert p1_girls() == (1 + 2 + 1) * 12
    revise(db, "HC-13", T, 0)  # ... and then zeros: its pupils leave the sum
    assert p1_girls() == (1 + 2) * 12
    assert_kept_equals_recount(db)


def test_documents_are_found_by_their_key_not_by_a_scan(db: Database) -> None:
    """SQLite's keeper reads the documents a push changes by their primary key: every document
    asked for, each found by a search of the key, none by reading the whole table."""
    with db.reader() as s:
        if s.get_bind().dialect.name != "sqlite":
            pytest.skip("the statement is SQLite's (PostgreSQL merges documents in its upsert)")
        docs = IndicatorCells.__table__  # type: ignore[attr-defined]
        fields = ["year", "form_code", "unit_id", "status", "ownership", "locality"]
        stored = {
            tuple(r[:-1]): r[-1]
            for r in s.execute(select(*(docs.c[f] for f in fields), docs.c.cells))
        }
        assert len(stored) >= 4
        wanted = [*sorted(stored)[::2], (1999, "none", 1, "submitted", "public", "urban")]
        rows = {"rows": orjson.dumps(wanted).decode()}
        got = {tuple(r[:-1]): r[-1] for r in orjson.loads(s.scalar(_docs_of_sql(), rows))}
        assert got == {k: stored[k] for k in wanted[:-1]}
        sql = _docs_of_sql().text
        plan = " | ".join(r[-1] for r in s.execute(text("EXPLAIN QUERY PLAN " + sql), rows))
        assert "SEARCH c USING" in plan and "SCAN c" not in plan, plan


def test_a_revision_undone_with_its_savepoint_is_not_counted(db: Database) -> None:
    """The keeper takes the state of a return this transaction wrote from the writer's hand;
    a savepoint rolled back after the write takes that hand with it, so the revision that is
    gone is not counted (the push stores a batch in a savepoint and, when a concurrent writer
    wins, undoes it and stores the items one by one)."""
    from datetime import UTC, datetime

    from app.returns.service import NewRevision, apply_revision, return_states, revision_values

    class Undo(Exception):
        pass

    with db.reader() as s:
        sid = registry.schools_by_code(s, ["HC-13"])["HC-13"][0]
        (state,) = [r for r in return_states_of_schools(s, [sid]) if r.year == T]
    rev = NewRevision(
        form=country.FORM, form_version=1, year=T, school_id=sid,
        base_revision=state.revision, values=country.values(T, 4, False),
        status=ReturnStatus.SUBMITTED, errors=[], warnings=[], push_id=str(uuid.uuid4()),
        content_hash="undone", user_id=None, device_id=None, captured_at=None,
        now=datetime.now(UTC),
    )  # fmt: skip
    with unit_of_work(db) as uow:
        session = uow.session
        with pytest.raises(Undo), session.begin_nested():
            assert apply_revision(session, rev) == state.revision + 1
            assert return_states(session, [state.id])[state.id].revision == state.revision + 1
            raise Undo
        assert return_states(session, [state.id])[state.id].revision == state.revision
        # Nor its values: a retry or another writer may store other ones as that revision.
        assert revision_values(session, [(state.id, state.revision + 1)]) == {}
    with db.reader() as s:
        assert return_states(s, [state.id])[state.id].revision == state.revision
    assert_kept_equals_recount(db)


@pytest.mark.parametrize("levels_changed", [False, True])
def test_work_prepared_before_the_transaction_is_used_only_while_it_holds(
    db: Database, monkeypatch: pytest.MonkeyPatch, levels_changed: bool
) -> None:
    """The push works out each revision's contribution before the write lock (derived.prepare);
    inside the transaction the keeper takes it as it is while the school offers the same
    levels, and counts the revision again when the school changed in between."""
    from datetime import UTC, datetime

    from app.core import derived
    from app.indicators import keep
    from app.returns.service import NewRevision, apply_revision

    code = "HC-13"
    with db.reader() as s:
        sid = registry.schools_by_code(s, [code])[code][0]
        (state,) = [r for r in return_states_of_schools(s, [sid]) if r.year == T]
        levels = list(registry.school_placements(s, [sid])[sid].levels)
        values = country.values(T, 6, "lower_secondary" in levels)
        (ahead,) = derived.prepare(s, [(country.FORM, 1, values, sid, None)])
    assert ahead is not None
    if levels_changed:  # the school opens (or closes) its lower secondary meanwhile
        other = [lv for lv in levels if lv != "lower_secondary"]
        school = _school(code)
        move(
            db,
            code,
            school["unit"],
            school["ownership"],
            other if other != levels else [*levels, "lower_secondary"],
        )
    rev = NewRevision(
        form=country.FORM, form_version=1, year=T, school_id=sid,
        base_revision=state.revision, values=values,
        status=ReturnStatus.SUBMITTED, errors=[], warnings=[], push_id=str(uuid.uuid4()),
        content_hash="prepared", user_id=None, device_id=None, captured_at=None,
        now=datetime.now(UTC),
    )  # fmt: skip
    counted: list[Any] = []
    real = keep.contribution

    def spy(form: Any, v: Any, *rest: Any) -> Any:
        counted.append(v)
        return real(form, v, *rest)

    monkeypatch.setattr(keep, "contribution", spy)
    with unit_of_work(db) as uow:
        derived.hand_over(uow.session, values, ahead)
        assert apply_revision(uow.session, rev) == state.revision + 1
    monkeypatch.undo()
    # Counted again in the transaction only when what was prepared no longer holds.
    assert any(v is values for v in counted) is levels_changed
    assert_kept_equals_recount(db)


def test_documents_merged_a_few_at_a_time_keep_the_same_totals(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The documents go to the database in statements of DOCS_PER_STATEMENT (500: a rebuild
    holds every document of the country); two at a time here, so every path takes several."""
    from app.indicators import keep

    monkeypatch.setattr(keep, "DOCS_PER_STATEMENT", 2)
    with db.reader() as s:
        assert s.scalar(select(func.count()).select_from(IndicatorCells)) > 4
    with unit_of_work(db) as uow:
        keep.rebuild(uow.session)
    assert_kept_equals_recount(db)
    move(db, "HC-13", country.DISTRICTS[-1], "private", ["primary"])  # out of its documents
    revise(db, "HC-13", T, 2)
    set_status(db, "HC-13", T1, "invalid")
    assert_kept_equals_recount(db)


def test_upgrade_counts_returns_stored_before_the_totals_existed(
    db: Database, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import delete, func, select
    from typer.testing import CliRunner

    from app.cli import app as cli
    from app.core.config import get_settings
    from app.indicators.models import IndicatorTotal

    with db.reader() as s:
        before = kept_rows(s), table_rows(s, FlowTotal)
    # As a database migrated from before issue 10: returns, no totals.
    with unit_of_work(db) as uow:
        for t in (IndicatorTotal, IndicatorCells, FlowTotal, IndicatorPlacement):
            uow.session.execute(delete(t))
    monkeypatch.setenv("EMIS_DATABASE_URL", db_url)
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, ["db", "upgrade"])
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "Counted 25 existing return(s)" in result.output
    with db.reader() as s:
        assert s.scalar(select(func.count()).select_from(IndicatorPlacement)) == 25
        assert (kept_rows(s), table_rows(s, FlowTotal)) == before
