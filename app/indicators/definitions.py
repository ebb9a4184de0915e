"""The indicator dictionary: what each indicator code means, in English and French.

The texts live in definitions.yaml, read once. Family codes resolve to their entry: GPI_GER and
GPIA_NER to the parity entries with the indicator's name and formula filled in, SR_P3 to the
survival rate to grade P3. Only the standard library, pyyaml and pydantic.
"""

import re
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict

DEFINITIONS_FILE = Path(__file__).resolve().parent / "definitions.yaml"
REQUIRED_LANGUAGES = ("en", "fr")
DEFAULT_LANGUAGE = "en"
TEXT_FIELDS = ("name", "formula", "needs", "interpretation", "null_when")
PARITY_PREFIXES = ("GPIA_", "GPI_")
SURVIVAL_PREFIX = "SR_"
_GRADE_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]*")


def _in_every_language(texts: dict[str, str]) -> dict[str, str]:
    missing = [lang for lang in REQUIRED_LANGUAGES if not texts.get(lang, "").strip()]
    if missing:
        raise ValueError(f"text missing in {', '.join(missing)}")
    return texts


Texts = Annotated[dict[str, str], AfterValidator(_in_every_language)]


class IndicatorDefinition(BaseModel):
    """One indicator code with its meaning, formula, data needs and when it has no value."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    family: Literal["one_year", "flow", "cohort", "parity"]
    unit: Literal["percent", "ratio", "index", "pupils", "years"]
    name: Texts
    formula: Texts
    needs: Texts
    interpretation: Texts
    null_when: Texts


class _MemberTemplates(BaseModel):
    """How a family member's name and formula are built from the family entry."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Texts
    formula: Texts
    needs: Texts | None = None


class _Dictionary(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    indicators: list[IndicatorDefinition]
    members: dict[str, _MemberTemplates]


@cache
def _dictionary() -> _Dictionary:
    raw: Any = yaml.safe_load(DEFINITIONS_FILE.read_text(encoding="utf-8"))
    dictionary = _Dictionary.model_validate(raw)
    codes = [d.code for d in dictionary.indicators]
    duplicates = sorted({c for c in codes if codes.count(c) > 1})
    if duplicates:
        raise ValueError(f"{DEFINITIONS_FILE.name}: duplicate codes {duplicates}")
    unknown = sorted(set(dictionary.members) - set(codes))
    if unknown:
        raise ValueError(f"{DEFINITIONS_FILE.name}: templates for unknown codes {unknown}")
    return dictionary


@cache
def _by_code() -> dict[str, IndicatorDefinition]:
    return {d.code: d for d in _dictionary().indicators}


def definitions() -> list[IndicatorDefinition]:
    """Every indicator entry, in the order of the dictionary (families once, e.g. GPI and SR)."""
    return list(_dictionary().indicators)


def definition(code: str) -> IndicatorDefinition | None:
    """The entry for `code`, resolving family codes (GPI_GER, GPIA_NER, SR_P3); None if unknown."""
    known = _by_code().get(code)
    if known is not None:
        return known
    for prefix in PARITY_PREFIXES:
        if code.startswith(prefix):
            return _parity_member(code, family=prefix.rstrip("_"), of=code[len(prefix) :])
    if code.startswith(SURVIVAL_PREFIX):
        grade = code[len(SURVIVAL_PREFIX) :]
        if _GRADE_CODE.fullmatch(grade):
            return _survival_member(code, grade=grade)
    return None


def localized(defn: IndicatorDefinition, lang: str) -> dict[str, str]:
    """The entry's code, family, unit and texts in `lang` (or its base language), else English."""
    wanted = [lang, lang.split("-")[0].split("_")[0].lower()]
    chosen = next(
        (
            option
            for option in wanted
            if all(getattr(defn, field).get(option) for field in TEXT_FIELDS)
        ),
        DEFAULT_LANGUAGE,
    )
    result = {"code": defn.code, "family": defn.family, "unit": defn.unit, "lang": chosen}
    for field in TEXT_FIELDS:
        texts: dict[str, str] = getattr(defn, field)
        result[field] = texts.get(chosen) or texts[DEFAULT_LANGUAGE]
    return result


def _parity_member(code: str, *, family: str, of: str) -> IndicatorDefinition | None:
    indicator = definition(of)
    if indicator is None or indicator.family == "parity":
        return None  # no parity index of a parity index
    base = _by_code()[family]
    templates = _dictionary().members[family]
    name = {
        lang: template.format(name=_lower_first(indicator.name[lang]), code=indicator.code)
        for lang, template in templates.name.items()
    }
    formula = {
        lang: template.format(
            base=base.formula[lang], code=indicator.code, formula=indicator.formula[lang]
        )
        for lang, template in templates.formula.items()
    }
    needs = base.needs
    if templates.needs is not None:
        needs = {
            lang: template.format(
                base=base.needs[lang], code=indicator.code, needs=indicator.needs[lang]
            )
            for lang, template in templates.needs.items()
        }
    return base.model_copy(update={"code": code, "name": name, "formula": formula, "needs": needs})


def _survival_member(code: str, *, grade: str) -> IndicatorDefinition:
    base = _by_code()["SR"]
    templates = _dictionary().members["SR"]
    name = {lang: template.format(grade=grade) for lang, template in templates.name.items()}
    formula = {
        lang: template.format(base=base.formula[lang], grade=grade)
        for lang, template in templates.formula.items()
    }
    return base.model_copy(update={"code": code, "name": name, "formula": formula})


def _lower_first(text: str) -> str:
    """'Gross enrolment ratio' → 'gross enrolment ratio'; an acronym ('GER …') is left alone."""
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]
