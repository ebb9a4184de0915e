"""`emis demo`: a country with returns (form v2) for both years, stored through the push service."""

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
                select(
                    CensusReturn.year,
                    CensusReturn.status,
                    CensusReturn.revision,
                    CensusReturn.form_version,
                )
            ).all()
            values = {
                (code, year): v
                for code, year, v in s.execute(
                    select(School.code, CensusReturn.year, ReturnRevision.values)
                    .join(CensusReturn, CensusReturn.id == ReturnRevision.return_id)
                    .join(School, School.id == CensusReturn.school_id)
                ).all()
            }
    finally:
        engine.dispose()
    return schools, rows, values


def test_demo_fills_a_clean_return_for_every_school_and_both_years(db_url):
    """Every school gets one version 2 return for each year, each passing the form's error rules
    (stored `submitted`, not `invalid`)."""
    engine = make_engine(db_url)
    result = build_demo(make_sessionmaker(engine), DemoSpec(schools=45, seed=3, returns=True))
    engine.dispose()
    schools, rows, values = _returns(db_url)
    assert schools == 45 and len(rows) == 90 and len(values) == 90
    assert sorted({r.year for r in rows}) == list(result.years)
    assert {(r.status, r.revision, r.form_version) for r in rows} == {("submitted", 1, 2)}
    assert all(v["enrolment"] and v["teachers"] and v["graduates"] for v in values.values())


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
    assert built[0] == built[1] and len(built[0]) == 60


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
    assert len(_returns(db_url)[1]) == 80  # both years
