"""`emis demo`: a country with returns for the earlier year, stored through the push service."""

import os
import subprocess
import sys

from sqlalchemy import func, select

from app.core.db import make_engine, make_sessionmaker
from app.demo.generator import DemoSpec, build_demo
from app.registry.models import School
from app.returns.models import CensusReturn, ReturnRevision


def _returns(url):
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as s:
            schools = s.scalar(select(func.count()).select_from(School))
            rows = s.execute(
                select(CensusReturn.year, CensusReturn.status, CensusReturn.revision)
            ).all()
            values = dict(
                s.execute(
                    select(School.code, ReturnRevision.values)
                    .join(CensusReturn, CensusReturn.id == ReturnRevision.return_id)
                    .join(School, School.id == CensusReturn.school_id)
                ).all()
            )
    finally:
        engine.dispose()
    return schools, rows, values


def test_demo_fills_a_clean_return_for_every_school(db_url):
    """Every school gets one return for the earlier year that passes the form's error rules."""
    engine = make_engine(db_url)
    result = build_demo(make_sessionmaker(engine), DemoSpec(schools=45, seed=3, returns=True))
    engine.dispose()
    schools, rows, values = _returns(db_url)
    assert schools == 45 and len(rows) == 45 and len(values) == 45
    assert {r.year for r in rows} == {result.years[0]}
    assert {(r.status, r.revision) for r in rows} == {("submitted", 1)}
    assert all(v["enrolment"] and v["teachers"] for v in values.values())


def test_demo_is_the_same_for_the_same_seed(db_factory):
    """Two builds with one seed hold the same values school by school (batches run in worker
    processes in whatever order, each seeded by its place)."""
    built = []
    for _ in range(2):
        url = db_factory.copy(db_factory.template("empty"))
        engine = make_engine(url)
        build_demo(make_sessionmaker(engine), DemoSpec(schools=30, seed=11, returns=True))
        engine.dispose()
        built.append(_returns(url)[2])
        db_factory.drop(url)
    assert built[0] == built[1] and len(built[0]) == 30


def test_demo_command_builds_and_reports(db_url, tmp_path):
    """The command a newcomer runs (without serving) prints the users and the summary."""
    env = {**os.environ, "EMIS_DATABASE_URL": db_url, "EMIS_DATA_DIR": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, "-m", "app.cli", "demo", "--schools", "40", "--no-serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "40 schools" in run.stdout and "clerk" in run.stdout
    assert len(_returns(db_url)[1]) == 40
