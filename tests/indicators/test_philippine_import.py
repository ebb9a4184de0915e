"""The Philippine DepEd file (3,148 schools, enrolment K-10 by sex) imports as returns through a
mapping into a form of its shape; the aggregates by region and by division then equal the
totals the file itself gives, to the pupil; importing it again changes nothing."""

import csv
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.auth.service import create_user
from app.core.changelog import last_sequence
from app.core.db import make_engine
from app.core.uow import Database, unit_of_work
from app.indicators import service
from app.registry import service as registry
from app.returns.models import CensusReturn
from tests.indicators.country import admin_principal
from tests.registry.test_import import PH_FILE, PH_MAPPING, emis  # noqa: F401  # the fixture

FORM_FILE = Path(__file__).resolve().parents[2] / "app/forms/library/ph_deped_enrolment.v1.yaml"
pytestmark = pytest.mark.skipif(
    not PH_FILE.exists(), reason=f"{PH_FILE} is not beside the checkout"
)


def _file_totals() -> tuple[dict[str, dict[str, int]], dict[tuple[str, str], dict[str, int]]]:
    """Pupils by sex per region and per (region, division), from the file's own total columns."""
    regions: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    divisions: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    with PH_FILE.open(encoding="utf-8-sig") as fh:
        for r in csv.DictReader(fh):
            for sex, col in (("F", "total_female_enrollment"), ("M", "total_male_enrollment")):
                regions[r["region"].strip()][sex] += int(r[col])
                divisions[(r["region"].strip(), r["division"].strip())][sex] += int(r[col])
    return regions, divisions


def test_philippine_enrolment_imports_and_adds_up(emis, db_url: str, tmp_path: Path) -> None:  # noqa: F811
    assert (
        emis("registry", "import", "schools", str(PH_FILE), "--mapping", str(PH_MAPPING)).exit_code
        == 0
    )
    engine = make_engine(db_url)
    db = Database(engine)
    with unit_of_work(db) as uow:
        registry.upsert_years(
            uow.session,
            [{"year": 2023, "label": "2023/24", "reference_date": date(2023, 8, 29),
              "window_opens": datetime(2023, 8, 1, tzinfo=UTC),
              "window_closes": datetime(2024, 3, 31, tzinfo=UTC), "reopened_until": None}],
        )  # fmt: skip
        create_user(uow.session, "admin", "a-long-password", "admin", "PH")
    assert emis("forms", "load", str(FORM_FILE)).exit_code == 0
    args = ("returns", "import", str(PH_FILE), "--form", "ph_deped_enrolment", "--year", "2023",
            "--mapping", "ph_deped_enrolment.yaml")  # fmt: skip
    result = emis(*args)
    assert result.exit_code == 0, result.output
    assert "3148 stored as a new revision (0 of them invalid), 0 unchanged" in result.output

    regions, divisions = _file_totals()
    admin = admin_principal(db)

    def aggregate(level: int) -> dict[tuple[str, str], dict[str, int]]:
        with db.reader() as s:
            q = service.AggregateQuery(
                year=2023, levels=(level,), unit=None, element="enrolment", by=("sex",),
                statuses=service.DEFAULT_STATUSES, form="ph_deped_enrolment", ownership=None,
                locality=None,
            )  # fmt: skip
            rows = service.aggregates(s, admin, q).data["rows"]
            units = {u.code: u for u in registry.all_units(s)}
        by_id = {u.id: u for u in units.values()}
        out: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
        for r in rows:
            u = units[r["unit"]]
            parent = by_id[int(u.path.strip("/").split("/")[-2])].name
            out[(parent, r["unit_name"])][r["disaggregation"]["sex"]] = r["value"]
            assert r["coverage"]["schools_expected"] == r["coverage"]["schools_reported"]
        return out

    by_region = {name: v for (_, name), v in aggregate(1).items()}
    assert by_region == {k: dict(v) for k, v in regions.items()}
    assert aggregate(2) == {k: dict(v) for k, v in divisions.items()}
    nation = sum(v for d in regions.values() for v in d.values())
    assert nation == 1_062_055

    # Again: nothing changes, not even the change log.
    with db.reader() as s:
        before = (last_sequence(s), s.scalar(select(func.count()).select_from(CensusReturn)))
    again = emis(*args)
    assert again.exit_code == 0, again.output
    assert "0 stored as a new revision (0 of them invalid), 3148 unchanged" in again.output
    with db.reader() as s:
        assert (
            last_sequence(s),
            s.scalar(select(func.count()).select_from(CensusReturn)),
        ) == before

    # One bad row rejects the whole file, and says where.
    bad = tmp_path / "bad.csv"
    lines = PH_FILE.read_text(encoding="utf-8-sig").splitlines()
    header = lines[0].split(",")
    cells = next(csv.reader([lines[5]]))
    cells[header.index("g3_female")] = "twelve"
    out = [lines[0], *lines[1:5], ",".join(f'"{c}"' for c in cells), *lines[6:]]
    bad.write_text("\n".join(out) + "\n", encoding="utf-8")
    rejected = emis(
        "returns",
        "import",
        str(bad),
        "--form",
        "ph_deped_enrolment",
        "--year",
        "2023",
        "--mapping",
        "ph_deped_enrolment.yaml",
    )
    assert rejected.exit_code == 1
    assert (
        "g3_female" in rejected.output
        and "twelve" in rejected.output
        and "Nothing was imported" in rejected.output
    )
    engine.dispose()
