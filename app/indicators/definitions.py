# temporary stand-in until the helper's module lands
from pydantic import BaseModel


class IndicatorDefinition(BaseModel):
    code: str
    family: str = "one_year"
    unit: str = "percent"
    name: dict[str, str] = {}
    formula: dict[str, str] = {"en": ""}
    needs: dict[str, str] = {}
    interpretation: dict[str, str] = {}
    null_when: dict[str, str] = {}


def definitions():
    return []


def definition(code):
    return None


def localized(d, lang):
    return {}
