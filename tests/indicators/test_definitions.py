"""The indicator dictionary: every code of INDICATORS.md, in English and French, families resolved."""

import re
from pathlib import Path

import pytest

from app.indicators.definitions import (
    TEXT_FIELDS,
    IndicatorDefinition,
    definition,
    definitions,
    localized,
)

INDICATORS_MD = Path("/work/shared/design/INDICATORS.md")
# The code column of INDICATORS.md's tables, for when the design docs are not at hand.
FALLBACK_CODES = [
    "GER", "NER", "ANER", "GIR", "NIR", "GIR_LAST", "GPI_*", "GPIA_*", "PTR", "PQTR", "PTTR",
    "QUAL_TEACH", "TRAIN_TEACH", "PCR", "PCT_REP", "OOSR", "FAC_*",
    "PR", "RR", "DR", "EPR", "ETR", "SR_g", "SR_LAST", "CE", "YIG",
]  # fmt: skip
FACILITIES = [
    "FAC_DRINKING_WATER", "FAC_ELECTRICITY", "FAC_INTERNET", "FAC_HANDWASHING",
    "FAC_IMPROVEMENT_PLAN",
]  # fmt: skip


def documented_codes() -> list[str]:
    if not INDICATORS_MD.exists():
        return FALLBACK_CODES
    codes = re.findall(r"^\|\s*`([A-Z][A-Za-z0-9_*]*)`\s*\|", INDICATORS_MD.read_text(), re.M)
    assert codes, "no table of codes found in INDICATORS.md"
    return codes


def test_the_fallback_list_matches_the_design_doc() -> None:
    if INDICATORS_MD.exists():
        assert documented_codes() == FALLBACK_CODES


@pytest.mark.parametrize("code", documented_codes())
def test_every_documented_code_has_a_definition(code: str) -> None:
    if code.endswith("_*"):  # a family: GPI_* of any indicator, FAC_* of each facility
        prefix = code[:-1]
        if prefix == "FAC_":
            assert {d.code for d in definitions() if d.code.startswith(prefix)} == set(FACILITIES)
        else:
            family = definition(prefix[:-1])
            assert family is not None and family.family == "parity"
            member = definition(prefix + "GER")
            assert member is not None and member.code == prefix + "GER"
    elif code.endswith("_g"):  # per grade: SR_g
        assert definition(code[:-2]) is not None
        member = definition(code[:-1] + "P1")
        assert member is not None and member.code == code[:-1] + "P1"
    else:
        found = definition(code)
        assert found is not None and found.code == code


def test_codes_are_unique_and_families_and_units_are_as_documented() -> None:
    entries = definitions()
    codes = [d.code for d in entries]
    assert len(codes) == len(set(codes))
    by_code = {d.code: d for d in entries}
    assert {c for c, d in by_code.items() if d.family == "flow"} == {"PR", "RR", "DR", "EPR", "ETR"}
    assert {c for c, d in by_code.items() if d.family == "cohort"} == {"SR", "SR_LAST", "CE", "YIG"}
    assert {c for c, d in by_code.items() if d.family == "parity"} == {"GPI", "GPIA"}
    assert by_code["GER"].unit == "percent"
    assert by_code["PTR"].unit == "ratio"
    assert by_code["GPIA"].unit == "index"
    assert by_code["YIG"].unit == "years"


@pytest.mark.parametrize("defn", definitions(), ids=lambda d: d.code)
@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_every_text_is_in_english_and_french(defn: IndicatorDefinition, field: str) -> None:
    texts: dict[str, str] = getattr(defn, field)
    assert texts["en"].strip()
    assert texts["fr"].strip()
    assert texts["fr"] != texts["en"]
    for text in texts.values():
        assert "{" not in text, "an unfilled template"
        assert "  " not in text


def test_the_french_uses_the_ministries_terms() -> None:
    names = {d.code: d.name["fr"].lower() for d in definitions()}
    assert names["GER"] == "taux brut de scolarisation"
    assert names["NER"] == "taux net de scolarisation"
    assert names["GIR"].startswith("taux brut d'admission")
    assert names["PR"] == "taux de promotion"
    assert names["RR"] == "taux de redoublement"
    assert names["DR"] == "taux d'abandon"
    assert names["SR_LAST"].startswith("taux de survie")
    assert names["CE"].startswith("coefficient d'efficacité")
    assert names["GPI"] == "indice de parité entre les sexes"
    assert names["PTR"] == "ratio élèves-enseignant"


def test_the_pitfalls_are_spelled_out_for_planners() -> None:
    rr = definition("RR")
    assert rr is not None
    assert "t+1" in rr.formula["en"] and "PCT_REP" in rr.interpretation["en"]
    pct = definition("PCT_REP")
    assert pct is not None and "not the repetition rate" in pct.interpretation["en"]
    ger = definition("GER")
    assert ger is not None and "above 100" in ger.interpretation["en"]
    for code in ("PR", "RR", "DR", "EPR", "ETR", "SR", "SR_LAST"):
        flow = definition(code)
        assert flow is not None
        assert "UIS" in flow.interpretation["en"] and "ISU" in flow.interpretation["fr"]
    for code in ("PR", "RR", "EPR", "ETR"):
        flow = definition(code)
        assert flow is not None and "reported in both" in flow.needs["en"]


def test_a_parity_code_resolves_to_its_family_with_the_indicator_named() -> None:
    gpi = definition("GPI_GER")
    assert gpi is not None
    assert gpi.code == "GPI_GER"
    assert gpi.family == "parity" and gpi.unit == "index"
    assert "GER" in gpi.name["en"] and "gross enrolment ratio" in gpi.name["en"]
    assert "taux brut de scolarisation" in gpi.name["fr"]
    assert "E(L, all ages, t)" in gpi.formula["en"]
    assert "GER" in gpi.needs["en"]
    gpia = definition("GPIA_NER")
    assert gpia is not None
    assert gpia.name["en"].startswith("Adjusted gender parity index")
    assert "net enrolment rate" in gpia.name["en"]
    assert "2 − M / F" in gpia.formula["en"]


def test_survival_to_any_grade_resolves_to_sr() -> None:
    sr = definition("SR_P3")
    assert sr is not None
    assert sr.code == "SR_P3" and sr.family == "cohort" and sr.unit == "percent"
    assert "P3" in sr.name["en"] and "P3" in sr.name["fr"]
    assert "g = P3" in sr.formula["en"]
    last = definition("SR_LAST")
    assert last is not None and last.code == "SR_LAST" and "last grade" in last.name["en"]


def test_families_combine_and_unknown_codes_are_none() -> None:
    nested = definition("GPI_SR_P4")
    assert nested is not None and "P4" in nested.name["en"]
    facility = definition("FAC_ELECTRICITY")
    assert facility is not None and facility.code == "FAC_ELECTRICITY"
    assert "electricity" in facility.name["en"]
    for unknown in ("XYZ", "GPI_", "GPI_XYZ", "GPI_GPI_GER", "SR_", "FAC_TOILETS", "ger"):
        assert definition(unknown) is None


def test_localized_gives_one_language_and_falls_back_to_english() -> None:
    ger = definition("GER")
    assert ger is not None
    fr = localized(ger, "fr")
    assert fr["name"] == "Taux brut de scolarisation"
    assert fr["lang"] == "fr"
    assert fr["code"] == "GER" and fr["family"] == "one_year" and fr["unit"] == "percent"
    assert set(TEXT_FIELDS) <= set(fr)
    assert localized(ger, "fr-CA")["name"] == fr["name"]
    es = localized(ger, "es")
    assert es["lang"] == "en" and es["name"] == "Gross enrolment ratio"


def test_definitions_are_read_once_and_cannot_be_changed() -> None:
    assert definitions() == definitions()
    ger = definition("GER")
    assert ger is not None and ger is definition("GER")
    with pytest.raises(ValueError):
        ger.code = "NER"  # type: ignore[misc]


def test_a_text_missing_in_french_is_refused() -> None:
    texts = {"en": "x", "fr": "x fr"}
    with pytest.raises(ValueError, match="fr"):
        IndicatorDefinition(
            code="X", family="one_year", unit="percent", name={"en": "only English"},
            formula=texts, needs=texts, interpretation=texts, null_when=texts,
        )  # fmt: skip
