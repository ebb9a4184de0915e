"""`emis registry import`: all-or-nothing files, every bad row reported, idempotent re-import."""

import csv
import os
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.cli import app as cli
from app.core.changelog import SyncChange
from app.core.config import get_settings
from app.registry.models import AdminUnit, Population, School

SHARED_DIR = Path(
    os.environ.get("EMIS_SHARED_DIR") or Path(__file__).resolve().parents[3] / "shared"
)
PH_FILE = SHARED_DIR / "data/ph-deped-sy2023/es_and_jhs_schools.csv"
PH_MAPPING = Path(__file__).resolve().parents[2] / "app/registry/mappings/ph_deped_schools.yaml"
runner = CliRunner()


@pytest.fixture
def emis(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Run `emis …` against the test database; returns the CliRunner result."""
    monkeypatch.setenv("EMIS_DATABASE_URL", db_url)
    monkeypatch.setenv("EMIS_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()

    def run(*args: str, input: str | None = None):
        return runner.invoke(cli, list(args), input=input)

    yield run
    get_settings.cache_clear()


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def units_file(tmp_path: Path) -> Path:
    rows = [["XL", "Exland", "country", ""]]
    for r in range(1, 4):
        rows.append([f"XL-{r}", f"Region {r}", "region", "XL"])
        for d in range(1, 5):
            rows.append([f"XL-{r}-{d}", f"District {r}.{d}", "district", f"XL-{r}"])
    return write_csv(tmp_path / "units.csv", ["code", "name", "level_name", "parent"], rows)


def school_rows(n: int) -> list[list[object]]:
    return [
        [
            f"S{i:05d}",
            f"School {i}",
            f"XL-{i % 3 + 1}-{i % 4 + 1}",
            ["public", "private", "community", "faith_based"][i % 4],
            ["urban", "rural"][i % 2],
            "primary" if i % 5 else "primary;lower_secondary",
            "open",
        ]
        for i in range(n)
    ]


SCHOOL_HEADER = ["code", "name", "unit", "ownership", "locality", "levels", "status"]


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_bad_rows_are_all_reported_and_nothing_is_imported(emis, tmp_path: Path, session: Session):
    assert emis("registry", "import", "units", str(units_file(tmp_path))).exit_code == 0
    rows = school_rows(1000)
    rows[10][3] = "goverment"  # line 12: ownership typo
    rows[500][2] = "XL-9-9"  # line 502: unknown unit
    rows[998][0] = rows[997][0]  # line 1000: duplicate code
    bad = write_csv(tmp_path / "schools.csv", SCHOOL_HEADER, rows)

    result = emis("registry", "import", "schools", str(bad), "--report", str(tmp_path / "r.csv"))

    assert result.exit_code == 1
    assert "3 problem(s) in 3 row(s)" in result.output
    report = list(csv.DictReader((tmp_path / "r.csv").open()))
    assert [(r["line"], r["column"], r["value"]) for r in report] == [
        ("12", "ownership", "goverment"),
        ("502", "unit", "XL-9-9"),
        ("1000", "code", rows[997][0]),
    ]
    assert "ownership must be one of" in report[0]["reason"]
    assert report[2]["reason"] == "duplicate school code: already on line 999"
    session.expire_all()
    assert count(session, School) == 0


def test_fixed_file_imports_and_reimport_changes_nothing(emis, tmp_path: Path, session: Session):
    assert emis("registry", "import", "units", str(units_file(tmp_path))).exit_code == 0
    good = write_csv(tmp_path / "schools.csv", SCHOOL_HEADER, school_rows(1000))

    first = emis("registry", "import", "schools", str(good))
    assert first.exit_code == 0, first.output
    assert "1000 created, 0 updated, 0 unchanged" in first.output
    seq_after_first = session.scalar(select(func.max(SyncChange.seq)))
    schools_first = session.execute(select(School.code, School.name, School.ownership)).all()

    again = emis("registry", "import", "schools", str(good))
    assert again.exit_code == 0
    assert "0 created, 0 updated, 1000 unchanged" in again.output
    session.expire_all()
    assert (
        session.execute(select(School.code, School.name, School.ownership)).all() == schools_first
    )
    assert session.scalar(select(func.max(SyncChange.seq))) == seq_after_first  # nothing to pull


def test_changed_row_is_updated_on_reimport(emis, tmp_path: Path, session: Session):
    emis("registry", "import", "units", str(units_file(tmp_path)))
    rows = school_rows(20)
    emis("registry", "import", "schools", str(write_csv(tmp_path / "a.csv", SCHOOL_HEADER, rows)))
    rows[3][1] = "Renamed school"
    result = emis(
        "registry", "import", "schools", str(write_csv(tmp_path / "b.csv", SCHOOL_HEADER, rows))
    )
    assert "0 created, 1 updated, 19 unchanged" in result.output
    assert session.scalar(select(School.name).where(School.code == rows[3][0])) == "Renamed school"


def test_missing_column_is_named(emis, tmp_path: Path):
    f = write_csv(tmp_path / "s.csv", ["code", "name", "unit"], [["A", "B", "C"]])
    result = emis("registry", "import", "schools", str(f))
    assert result.exit_code == 1
    assert "ownership" in result.output and "column missing" in result.output


def test_units_with_unknown_parent_are_rejected(emis, tmp_path: Path, session: Session):
    f = write_csv(
        tmp_path / "u.csv",
        ["code", "name", "level_name", "parent"],
        [["A", "A", "country", ""], ["B", "B", "region", "NOPE"]],
    )
    result = emis("registry", "import", "units", str(f))
    assert result.exit_code == 1
    assert "NOPE" in result.output
    assert count(session, AdminUnit) == 0


def test_population_import_and_query(emis, tmp_path: Path, session: Session):
    emis("registry", "import", "units", str(units_file(tmp_path)))
    rows = [
        [f"XL-1-{d}", 2025, age, sex, 100 + age] for d in (1, 2) for age in (6, 7) for sex in "FM"
    ]
    f = write_csv(tmp_path / "p.csv", ["unit", "year", "age", "sex", "value"], rows)
    assert emis("registry", "import", "population", str(f)).exit_code == 0
    assert count(session, Population) == 8
    from app.registry.service import population_for

    by_age = {(r["age"], r["sex"]): r["value"] for r in population_for(session, "XL-1", 2025)}
    assert by_age == {(6, "F"): 212, (6, "M"): 212, (7, "F"): 214, (7, "M"): 214}
    rows.append(["XL-1-1", 2025, -3, "X", "many"])
    bad = write_csv(tmp_path / "p2.csv", ["unit", "year", "age", "sex", "value"], rows)
    result = emis("registry", "import", "population", str(bad), "--report", str(tmp_path / "r.csv"))
    assert result.exit_code == 1
    cols = [r["column"] for r in csv.DictReader((tmp_path / "r.csv").open())]
    assert cols == ["age", "sex", "value"]


def test_rows_with_too_few_or_too_many_fields_are_rejected(emis, tmp_path: Path, session: Session):
    assert emis("registry", "import", "units", str(units_file(tmp_path))).exit_code == 0
    lines = [",".join(SCHOOL_HEADER)] + [",".join(map(str, r)) for r in school_rows(6)]
    lines[2] = "S00001,School 1,XL-2-2,private,rural"  # line 3: the last two fields left off
    lines[4] += ",surplus,more"  # line 5: two fields beyond the header
    lines[6] = lines[6].replace(",private,", ",goverment,")  # line 7: an ordinary bad value
    f = tmp_path / "shapes.csv"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = emis("registry", "import", "schools", str(f), "--report", str(tmp_path / "r.csv"))

    assert result.exit_code == 1
    assert "3 problem(s) in 3 row(s)" in result.output
    report = list(csv.DictReader((tmp_path / "r.csv").open()))
    assert [(r["line"], r["column"], r["value"], r["reason"]) for r in report[:2]] == [
        ("3", "levels", "", "row has 5 fields, the header has 7"),
        ("5", "field 8", "surplus,more", "row has 9 fields, the header has 7"),
    ]
    assert report[2]["line"] == "7" and report[2]["column"] == "ownership"
    session.expire_all()
    assert count(session, School) == 0


def test_a_file_whose_only_fault_is_a_short_row_imports_nothing(
    emis, tmp_path: Path, session: Session
):
    emis("registry", "import", "units", str(units_file(tmp_path)))
    f = tmp_path / "u2.csv"
    f.write_text(
        "code,name,level_name,parent\nXL-4,Region 4,region,XL\nXL-5,Region 5,region\n",
        encoding="utf-8",
    )
    before = count(session, AdminUnit)
    result = emis("registry", "import", "units", str(f), "--report", str(tmp_path / "r.csv"))
    assert result.exit_code == 1
    report = list(csv.DictReader((tmp_path / "r.csv").open()))
    assert [(r["line"], r["column"], r["reason"]) for r in report] == [
        ("3", "parent", "row has 3 fields, the header has 4")
    ]
    session.expire_all()
    assert count(session, AdminUnit) == before  # XL-4, which was fine, was not imported either


@pytest.mark.skipif(
    not PH_FILE.exists(),
    reason=f"Philippine school list not found at {PH_FILE}; put shared/data beside the checkout "
    "or set EMIS_SHARED_DIR to the directory that holds data/ph-deped-sy2023/",
)
def test_philippine_school_list_imports_through_a_mapping(emis, session: Session):
    with PH_FILE.open(encoding="utf-8-sig") as fh:
        source = list(csv.DictReader(fh))

    def distinct(*columns: str) -> int:
        return len({tuple(r[c].strip() for c in columns) for r in source})

    # What the file itself holds: units are named by their path of names, schools by BEIS id.
    in_file = {
        "region": distinct("region"),
        "division": distinct("region", "division"),
        "district": distinct("region", "division", "district"),
    }
    schools_in_file = distinct("beis_school_id")
    # The acceptance figures of the issue, so a changed data file is noticed.
    assert in_file == {"region": 17, "division": 213, "district": 1262}
    assert schools_in_file == 3148

    result = emis("registry", "import", "schools", str(PH_FILE), "--mapping", str(PH_MAPPING))
    assert result.exit_code == 0, result.output
    levels = Counter(session.scalars(select(AdminUnit.level_name)))
    assert levels == {"country": 1, **in_file}
    assert count(session, School) == schools_in_file
    # Every district's schools hang under the district the file names.
    sample = source[0]
    district = session.scalar(
        select(AdminUnit)
        .join(School, School.admin_unit_id == AdminUnit.id)
        .where(School.code == sample["beis_school_id"].strip())
    )
    assert district is not None and district.name == sample["district"].strip()
    sectors = Counter(r["sector"] for r in source)
    ownership = Counter(session.scalars(select(School.ownership)))
    assert ownership == {
        "public": sectors["Public"] + sectors["SUCsLUCs"],
        "private": sectors["Private"],
    }
    # The ministry's own sector is kept beside the mapped ownership.
    kept = Counter(s["sector"] for s in session.scalars(select(School.attributes)))
    assert kept == sectors
    units_total = 1 + sum(in_file.values())
    again = emis("registry", "import", "schools", str(PH_FILE), "--mapping", str(PH_MAPPING))
    assert f"0 created, 0 updated, {schools_in_file} unchanged" in again.output
    assert f"admin units: 0 created, 0 updated, {units_total} unchanged" in again.output
