"""Migration 7e4b2d9c0a61 rewrites stored values in canonical form and rehashes them, so a
retry of a change stored before it, re-serialised, is a duplicate."""

import random

from alembic import command
from sqlalchemy import select, update

from app.core.migrate import alembic_config
from app.returns.models import ReturnRevision
from app.returns.service import content_hash
from tests.sync.helpers import FORM, cells, clerk_schools, item, push


def test_old_values_become_canonical_and_retries_stay_duplicates(demo):
    year = demo.result.years[1]
    school = clerk_schools(demo)[0]
    it = item(school, year)
    assert push(demo, [it]).json()["results"][0]["status"] == "applied"
    # Make the row look as before canonical values: cells shuffled, hash over what was sent.
    sent = it["values"]
    shuffled = {
        k: (random.Random(1).sample(v, len(v)) if isinstance(v, list) else v)
        for k, v in reversed(list(sent.items()))
    }
    old_hash = content_hash(FORM, 1, year, school, 0, shuffled)
    with demo.db.writer() as s:
        s.execute(
            update(ReturnRevision)
            .where(ReturnRevision.push_id == it["id"])
            .values(values=shuffled, content_hash=old_hash)
        )
        s.commit()
    cfg = alembic_config(demo.url)
    command.downgrade(cfg, "1dd12a0a2d7d")
    command.upgrade(cfg, "head")
    with demo.db.reader() as s:
        stored, digest = s.execute(
            select(ReturnRevision.values, ReturnRevision.content_hash).where(
                ReturnRevision.push_id == it["id"]
            )
        ).one()
    assert stored != shuffled and cells(stored) == cells(sent)
    assert digest == content_hash(FORM, 1, year, school, 0, stored)
    # The clerk's client retries with yet another order: still the same change.
    retry = {**it, "values": shuffled}
    (r,) = push(demo, [retry]).json()["results"]
    assert (r["status"], r["revision"]) == ("duplicate", 1)
