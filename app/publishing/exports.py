"""A release's figures as files: plain CSV (the API's rows) and SDMX-CSV 2.0 as UIS reads it.

SDMX-CSV 2.0: the first three columns say what the rows are (`STRUCTURE` = dataflow,
`STRUCTURE_ID` = EMIS:DF_EMIS_CENSUS(1.0), `ACTION` = I for information), then one column per
dimension, then `OBS_VALUE`. Our dimensions: `STAT_UNIT` (the indicator code, or the aggregate's
element), `UNIT_MEASURE` (PT percent, RATIO, NB number of persons, YR years), `EDU_LEVEL` (ISCED
2011: L02 pre-primary, L1 primary, L2 lower secondary, L3 upper secondary; _T all), `SEX` (F, M,
_T), `GRADE` (the grade code, _Z not applicable), `AGE` (_T), `REF_AREA` (our admin unit code),
`TIME_PERIOD` (the school year's first calendar year; flow rates carry the base year t).
A null value (a denominator missing or zero) is an empty OBS_VALUE, never 0."""

import csv
import io
from typing import Any

from app.core.csvcell import safe_cell
from app.indicators.compute import PERCENT

STRUCTURE_ID = "EMIS:DF_EMIS_CENSUS(1.0)"
ISCED = {
    "pre_primary": "L02",
    "primary": "L1",
    "lower_secondary": "L2",
    "upper_secondary": "L3",
}
SDMX_COLUMNS = [
    "STRUCTURE",
    "STRUCTURE_ID",
    "ACTION",
    "STAT_UNIT",
    "UNIT_MEASURE",
    "EDU_LEVEL",
    "SEX",
    "GRADE",
    "AGE",
    "REF_AREA",
    "TIME_PERIOD",
    "OBS_VALUE",
]
RATIOS = {"PTR", "PQTR", "PTTR", "PCR", "GPI", "CE"}


def _measure(code: str) -> str:
    if code.startswith(("GPI_", "GPIA_")) or code in RATIOS:
        return "RATIO"
    if code == "YIG":
        return "YR"
    return "PT" if code in PERCENT or code.startswith("FAC_") else "NB"


def _value(v: Any) -> str:
    return "" if v is None else str(v)


def sdmx_csv(figures: dict[str, Any], year: int) -> str:
    """Every indicator and aggregate row of a release, in SDMX-CSV 2.0."""
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(SDMX_COLUMNS)
    for r in figures["indicators"]:
        d = r.get("disaggregation") or {}
        out.writerow(
            [
                "dataflow",
                STRUCTURE_ID,
                "I",
                r["indicator"],
                _measure(r["indicator"]),
                ISCED.get(r.get("education_level") or "", "_T"),
                d.get("sex", "_T"),
                d.get("grade", "_Z"),
                "_T",
                safe_cell(r["unit"]),
                r.get("base_year", year),
                _value(r.get("value")),
            ]
        )
    for element, rows in figures["aggregates"].items():
        for r in rows:
            d = r.get("disaggregation") or {}
            out.writerow(
                [
                    "dataflow",
                    STRUCTURE_ID,
                    "I",
                    element.upper(),
                    "NB",
                    "_T",
                    d.get("sex", "_T"),
                    d.get("grade", "_Z"),
                    d.get("age", "_T"),
                    safe_cell(r["unit"]),
                    year,
                    _value(r.get("value")),
                ]
            )
    return buf.getvalue()


def plain_csv(figures: dict[str, Any]) -> str:
    """The indicator rows as the API's CSV has them."""
    rows = figures["indicators"]
    dims = sorted({k for r in rows for k in (r.get("disaggregation") or {})})
    head = ["unit", "unit_name", "level", "indicator", "education_level", *dims]
    head += ["value", "numerator", "denominator", "schools_expected", "schools_reported"]
    head += ["base_year", "outcome_year"]
    buf = io.StringIO()
    out = csv.writer(buf)
    out.writerow(head)
    for r in rows:
        flat = {**r, **(r.get("disaggregation") or {}), **(r.get("coverage") or {})}
        out.writerow([safe_cell(flat[k]) if flat.get(k) is not None else "" for k in head])
    return buf.getvalue()


def figure_key(stat: str, row: dict[str, Any]) -> str:
    """The key a DHIS2 mapping names a figure by: STAT|education level|dim=value,…"""
    d = row.get("disaggregation") or {}
    dims = ",".join(f"{k}={d[k]}" for k in sorted(d))
    return f"{stat}|{row.get('education_level') or ''}|{dims}"


def _all_figures(figures: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out = [(figure_key(r["indicator"], r), r) for r in figures["indicators"]]
    for element, rows in figures["aggregates"].items():
        out += [(figure_key(element.upper(), r), r) for r in rows]
    return out


def dhis2_data_value_set(
    figures: dict[str, Any],
    year: int,
    *,
    data_set: str,
    values: dict[str, tuple[str, str | None]],
    org_units: dict[str, str],
    root: str,
) -> tuple[dict[str, Any], list[str]]:
    """The release as one DHIS2 dataValueSet (yearly period; each value names its org unit),
    and the figures the mapping does not cover (`key @ unit`), which are not sent."""
    data_values = []
    unmapped: list[str] = []
    for key, row in _all_figures(figures):
        if row.get("value") is None:
            continue  # DHIS2 has no null: an unknown value is not sent
        target = values.get(key)
        org = org_units.get(row["unit"])
        if target is None or org is None:
            unmapped.append(f"{key} @ {row['unit']}")
            continue
        element, combo = target
        value: dict[str, Any] = {"dataElement": element, "orgUnit": org, "value": str(row["value"])}
        if combo:
            value["categoryOptionCombo"] = combo
        data_values.append(value)
    body = {
        "dataSet": data_set,
        "period": str(year),
        "orgUnit": org_units.get(root, ""),
        "dataValues": data_values,
    }
    return body, unmapped
