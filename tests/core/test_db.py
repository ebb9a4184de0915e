"""`keys_in`: the rows whose key is in a list, found through the index on both databases;
`rows_by_ids` and `all_rows`: the rows of a select by ids (or of all), the same on both."""

from itertools import product

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, delete, insert, select, text
from sqlalchemy.orm import Session

from app.core.db import all_rows, keys_in, rows_by_ids
from app.core.types import JsonType

meta = MetaData()
places = Table(
    "test_keys_in_place",
    meta,
    Column("year", Integer, primary_key=True, autoincrement=False),
    Column("unit_id", Integer, primary_key=True, autoincrement=False),
    Column("status", String(16), primary_key=True),
    Column("n", Integer, nullable=False),
)
KEY = [places.c.year, places.c.unit_id, places.c.status]
ROWS = [
    {"year": y, "unit_id": u, "status": s, "n": y * 1000 + u}
    for y, u, s in product((2023, 2024), range(1, 301), ("submitted", "invalid"))
]


@pytest.fixture
def table(session: Session) -> Session:
    meta.create_all(session.get_bind())
    session.execute(insert(places), ROWS)
    session.commit()
    return session


@pytest.mark.parametrize(
    "keys",
    [
        [],
        [(2024, 7, "submitted")],
        [(2023, 1, "invalid"), (2024, 300, "submitted"), (2024, 12, "invalid")],
        [(2024, 5, "submitted"), (2024, 5, "submitted"), (2025, 5, "submitted")],  # repeat, absent
        [(y, u, "submitted") for y in (2023, 2024) for u in range(1, 251)],  # 500 keys
    ],
    ids=["none", "one", "three", "repeat-and-absent", "500"],
)
def test_keys_in_finds_exactly_the_rows_listed(table: Session, keys: list[tuple]) -> None:
    got = table.execute(select(*KEY, places.c.n).where(keys_in(KEY, keys))).all()
    wanted = {k for k in keys if k[0] in (2023, 2024)}
    assert sorted(tuple(r[:3]) for r in got) == sorted(wanted)
    assert all(r.n == r.year * 1000 + r.unit_id for r in got)


def test_keys_in_searches_the_index_on_sqlite(table: Session) -> None:
    """SQLite plans `(a, b, c) IN (VALUES …)` as a scan of the whole table; keys_in's terms
    each search the primary key (PostgreSQL plans both forms alike)."""
    if table.get_bind().dialect.name != "sqlite":
        pytest.skip("the plan checked is SQLite's")
    keys = [(2024, u, "submitted") for u in (3, 40, 200)]
    stmt = select(places.c.n).where(keys_in(KEY, keys))
    sql = str(stmt.compile(table.get_bind(), compile_kwargs={"literal_binds": True}))
    plan = " | ".join(r[-1] for r in table.execute(text("EXPLAIN QUERY PLAN " + sql)))
    assert "SEARCH" in plan and "SCAN" not in plan, plan


docs = Table(
    "test_rows_by_ids",
    meta,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(16)),
    Column("levels", JsonType),
)
DOCS = [
    {"id": 1, "name": "one", "levels": ["primary", "lower_secondary"]},
    {"id": 2, "name": None, "levels": []},
    {"id": 3, "name": "trois, « trois »", "levels": {"a": [1, 2]}},
]


def test_rows_by_ids_gives_the_rows_a_plain_select_gives(table: Session) -> None:
    """rows_by_ids (one statement text whatever the ids; SQLite: the rows as one JSON value)
    reads what a SELECT … WHERE id IN … reads: numbers, text with quotes, NULL, JSON columns
    decoded; nothing for ids that match no row, or for no ids."""
    table.execute(insert(docs), DOCS)
    table.commit()
    columns = [docs.c.id, docs.c.name, docs.c.levels]
    plain = [tuple(r) for r in table.execute(select(*columns).order_by(docs.c.id))]
    names = ("id", "name", "levels")
    got = sorted(tuple(r) for r in rows_by_ids(table, docs, names, "id", [3, 1, 2, 7]))
    assert got == plain
    assert plain[0] == (1, "one", ["primary", "lower_secondary"])
    assert [tuple(r) for r in rows_by_ids(table, docs, names, "id", [2])] == [(2, None, [])]
    assert [tuple(r) for r in rows_by_ids(table, docs, ("name",), "id", [3])] == [
        ("trois, « trois »",)
    ]
    assert rows_by_ids(table, docs, names, "id", [9]) == []
    assert rows_by_ids(table, docs, names, "id", []) == []
    assert sorted(tuple(r) for r in all_rows(table, docs, names)) == plain
    table.execute(delete(docs))
    table.commit()
    assert all_rows(table, docs, names) == []
