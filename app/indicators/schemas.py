"""API shapes for aggregates, indicators and their definitions (documentation of the JSON)."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

COVERAGE_EXAMPLE = {"schools_expected": 52, "schools_reported": 49}
INDICATOR_ROW_EXAMPLE: dict[str, Any] = {
    "unit": "DM-R01",
    "unit_name": "Nord",
    "level": 1,
    "indicator": "GER",
    "education_level": "primary",
    "disaggregation": {"sex": "F"},
    "value": 104.2,
    "numerator": 31254,
    "denominator": 29995,
    "coverage": COVERAGE_EXAMPLE,
}
FLOW_ROW_EXAMPLE: dict[str, Any] = {
    **INDICATOR_ROW_EXAMPLE,
    "indicator": "RR",
    "disaggregation": {"grade": "P1"},
    "value": 7.9,
    "numerator": 412,
    "denominator": 5215,
    "year": 2025,
    "base_year": 2025,
    "outcome_year": 2026,
    "caveat": "Sub-national flow rates are biased by pupils who change schools across the "
    "area's boundary (UIS): read them with care.",
}
AGGREGATE_ROW_EXAMPLE: dict[str, Any] = {
    "unit": "DM-R01",
    "unit_name": "Nord",
    "level": 1,
    "element": "enrolment",
    "disaggregation": {"grade": "P1", "sex": "F"},
    "value": 5120,
    "coverage": COVERAGE_EXAMPLE,
}


class Coverage(BaseModel):
    schools_expected: int = Field(description="Open schools of the unit (offering the level).")
    schools_reported: int = Field(description="Schools whose return is counted.")
    basis: str | None = Field(
        None, description="For flow rows: schools that reported in both years."
    )


class IndicatorRow(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [INDICATOR_ROW_EXAMPLE, FLOW_ROW_EXAMPLE]}
    )

    unit: str
    unit_name: str
    level: int = Field(description="Admin level of the unit (0 = national).")
    indicator: str
    education_level: str | None
    disaggregation: dict[str, str]
    value: float | None = Field(description="Null where the denominator is missing or zero.")
    numerator: float | None
    denominator: float | None
    coverage: Coverage
    year: int | None = None
    base_year: int | None = Field(None, description="Flow rows: base year t.")
    outcome_year: int | None = Field(None, description="Flow rows: outcome year t+1.")
    caveat: str | None = None
    method: str | None = Field(None, description="Reconstructed cohort: how it was computed.")
    details: dict[str, Any] | None = None


class IndicatorPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "year": 2025,
                    "form": "annual_school_census",
                    "status": ["submitted", "returned", "approved", "locked"],
                    "rows": [INDICATOR_ROW_EXAMPLE],
                }
            ]
        }
    )

    year: int
    form: str
    status: list[str]
    rows: list[IndicatorRow]


class AggregateRow(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [AGGREGATE_ROW_EXAMPLE]})

    unit: str
    unit_name: str
    level: int
    element: str
    disaggregation: dict[str, str]
    value: int
    coverage: Coverage


class AggregatePage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "year": 2025,
                    "form": "annual_school_census",
                    "status": ["submitted"],
                    "rows": [AGGREGATE_ROW_EXAMPLE],
                }
            ]
        }
    )

    year: int
    form: str
    status: list[str]
    rows: list[AggregateRow]


class DefinitionOut(BaseModel):
    code: str
    family: str
    unit: str
    name: str
    formula: str
    needs: str
    interpretation: str
    null_when: str


class DefinitionList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "language": "en",
                    "definitions": [
                        {
                            "code": "SR_LAST",
                            "family": "cohort",
                            "unit": "percent",
                            "name": "Survival rate to the last grade",
                            "formula": "Share of a cohort of 1,000 grade-1 entrants that reaches the last grade",
                            "needs": "enrolment and repeaters by grade and sex, two consecutive years",
                            "interpretation": "Of 1,000 pupils entering P1, how many reach P6.",
                            "null_when": "A grade's rates are missing.",
                        }
                    ],
                }
            ]
        }
    )

    language: str
    definitions: list[DefinitionOut]
