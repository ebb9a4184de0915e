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


def test_demo_passwords_are_drawn_at_random_whatever_the_seed(db_factory):
    """The same seed makes the same country, never the same passwords (the seed is public)."""
    seen = []
    for _ in range(2):
        url = db_factory.copy(db_factory.template("empty"))
        engine = make_engine(url)
        result = build_demo(make_sessionmaker(engine), DemoSpec(schools=12, seed=7, returns=False))
        again = build_demo(make_sessionmaker(engine), DemoSpec(schools=12, seed=7, returns=False))
        engine.dispose()
        db_factory.drop(url)
        passwords = {u.username: u.password for u in result.users}
        assert all(p and len(p) >= 16 for p in passwords.values())
        # Only their hashes are stored: a second build on the same database cannot tell them.
        assert again.already_present and all(u.password is None for u in again.users)
        seen.append(passwords)
    assert not set(seen[0].values()) & set(seen[1].values())


SMALL_DEMO = [sys.executable, "-m", "app.cli", "demo", "--schools", "12", "--no-returns"]


def _printed_passwords(stdout: str) -> dict[str, str]:
    found = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.replace("│", "|").split("|") if c.strip()]
        if len(cells) == 4 and cells[0] in {"admin", "analyst", "reviewer", "clerk", "clerk2"}:
            found[cells[0]] = cells[1]
    return found


def test_running_the_demo_again_prints_the_same_passwords(db_url, tmp_path):
    """The passwords are kept in the data dir (owner-only) and shown again, checked against the
    database, when `emis demo` runs on the same database."""
    env = {**os.environ, "EMIS_DATABASE_URL": db_url, "EMIS_DATA_DIR": str(tmp_path)}
    runs = []
    for _ in range(2):
        run = subprocess.run(
            [*SMALL_DEMO, "--no-serve"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr
        runs.append(_printed_passwords(run.stdout))
    assert len(runs[0]) == 5 and runs[0] == runs[1]
    kept = tmp_path / "demo-users.json"
    assert kept.stat().st_mode & 0o777 == 0o600
    assert "already in this database" not in runs[0]
    # A users file from another database opens nothing: those passwords are not shown.
    kept.write_text('{"admin": "not-the-password"}')
    run = subprocess.run(
        [*SMALL_DEMO, "--no-serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0 and "not-the-password" not in run.stdout
    assert "unknown" in run.stdout


def test_the_quick_start_serves_with_no_configuration(db_url, tmp_path):
    """`emis demo` with no EMIS_SECRET_KEY: demo mode, a random key kept in the data dir (the
    same at the next start), and the printed admin password opens the API."""
    import httpx

    from tests.servers import free_port, wait_ready

    env = {k: v for k, v in os.environ.items() if k not in ("EMIS_SECRET_KEY", "EMIS_DEMO_MODE")}
    env.update({"EMIS_DATABASE_URL": db_url, "EMIS_DATA_DIR": str(tmp_path)})
    keys = []
    for _ in range(2):
        port = free_port()
        out = tmp_path / "demo.out"
        with out.open("w") as f:
            proc = subprocess.Popen(
                [*SMALL_DEMO, "--port", str(port)],
                env=env,
                stdout=f,
                stderr=subprocess.STDOUT,
                text=True,
            )
        try:
            base = f"http://127.0.0.1:{port}"
            assert wait_ready(base, 90, proc), out.read_text()
            password = _printed_passwords(out.read_text())["admin"]
            token = httpx.post(
                base + "/api/v1/auth/token", data={"username": "admin", "password": password}
            )
            assert token.status_code == 200, token.text
        finally:
            proc.terminate()
            proc.wait(20)
        key_file = tmp_path / "demo-secret-key"
        assert key_file.stat().st_mode & 0o777 == 0o600
        keys.append(key_file.read_text().strip())
    assert len(keys[0]) >= 32 and keys[0] == keys[1]
