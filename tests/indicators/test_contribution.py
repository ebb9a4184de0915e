"""The push path counts a return's contribution through a plan of its shape (which elements and
cell options it fills), made once per shape; it must give exactly what the reference count,
cell by cell, gives: for the demo's returns of form v2, the same returns read as v1, with any
levels offered, with other numbers, cells dropped or reordered, elements left out and choices
changed (seeded, so a failure repeats). The push plans from what the check engine read of the
values (their cells in the order sent), the same count must come out of that too."""

import random
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from app.core.db import make_engine
from app.core.uow import Database
from app.demo.generator import DemoSpec, build_demo
from app.forms.canonical import canonical_from_cells
from app.forms.checking import CompiledForm
from app.forms.models import FormVersion
from app.forms.service import compiled_form
from app.indicators import keep
from app.returns.service import all_return_states, revision_values


def _as_form(form: CompiledForm, values: dict[str, Any]) -> dict[str, Any]:
    """A return's values read as another form: the elements both have, cells cut to its
    dimensions (cells may then repeat, as a hand-made file's can)."""
    out: dict[str, Any] = {}
    for e in form.definition.elements:
        v = values.get(e.code)
        if v is None:
            continue
        if e.dimensions:
            if not isinstance(v, list) or any(d not in c for c in v for d in e.dimensions):
                continue
            out[e.code] = [{**{d: c[d] for d in e.dimensions}, "value": c["value"]} for c in v]
        elif not isinstance(v, list):
            out[e.code] = v
    return out


def _mutated(rng: random.Random, form: CompiledForm, values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    for e in form.definition.elements:
        v = out.get(e.code)
        if v is None:
            continue
        roll = rng.random()
        if roll < 0.1:
            del out[e.code]
        elif isinstance(v, list):
            cells = [{**c, "value": rng.randint(0, 400)} for c in v if rng.random() > 0.05]
            if roll < 0.2:
                rng.shuffle(cells)
            out[e.code] = cells
        elif e.type == "choice" and e.choices:
            out[e.code] = rng.choice([*e.choices, 3, True])
        elif e.type == "boolean":
            out[e.code] = not v
        elif e.type == "count":
            out[e.code] = rng.randint(0, 50)
    return out


def test_planned_contributions_equal_the_count_cell_by_cell(db_url: str) -> None:
    engine = make_engine(db_url)
    db = Database(engine)
    build_demo(db, DemoSpec(schools=24, seed=5, returns=True))
    rng = random.Random(11)
    with db.reader() as s:
        structure = keep.structure_of(s)
        forms = [compiled_form(row) for row in s.scalars(select(FormVersion))]
        states = all_return_states(s)
        stored = revision_values(s, [(r.id, r.revision) for r in states])
        versions = set(s.scalars(select(col(FormVersion.version))))
    engine.dispose()
    assert len(forms) >= 2 and {1, 2} <= versions and len(stored) >= 40
    levels = [lv.code for lv in structure.levels]
    compared = 0
    read_compared = 0
    shapes_seen = 0
    for _ in range(2):  # the second pass meets every shape already planned
        for values in stored.values():
            for form in forms:
                mine = _as_form(form, values)
                for v in (mine, _mutated(rng, form, mine)):
                    offered = sorted(rng.sample(levels, rng.randint(0, len(levels))))
                    expected = keep.cells_of(form, v, structure, offered)
                    assert keep.contribution(form, v, structure, offered) == expected
                    compared += 1
                    problems: list[Any] = []
                    read = form.read_cells(v, problems)
                    if not problems:  # values the push would store: canonical, and as read
                        stored_as = canonical_from_cells(form, read)
                        expected = keep.cells_of(form, stored_as, structure, offered)
                        got = keep.contribution(form, stored_as, structure, offered, read)
                        assert got == expected
                        read_compared += 1
        shapes_seen = sum(len(p) for _, _, p in keep._shapes.values() if p)
    read_shapes = sum(
        1 for _, _, p in keep._shapes.values() if p for shape in p if shape[0] == keep._READ
    )
    assert compared >= 300 and read_compared >= 100
    assert read_shapes > 0  # shapes planned from the engine's reading
    assert shapes_seen > 0  # the plans were used, not only the fallback
