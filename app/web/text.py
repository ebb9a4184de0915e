"""The dashboard's words and numbers in the reader's language.

Labels live in `app/web/labels/<lang>.yaml`, one file per language with the same keys; a key a
language lacks shows in English, a key no file knows shows as itself (never an error). Numbers
follow the locale's conventions through Babel (CLDR): `12.5%` in English, `12,5 %` in French,
thousands grouped (`12,345` / `12 345`)."""

import math
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from babel.dates import format_date
from babel.numbers import get_decimal_symbol, get_group_symbol

LABEL_DIR = Path(__file__).resolve().parent / "labels"
DEFAULT = "en"


@cache
def _labels(lang: str) -> dict[str, str]:
    path = LABEL_DIR / f"{lang}.yaml"
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(k): str(v) for k, v in data.items()}


@cache
def languages() -> tuple[str, ...]:
    """The languages the pages speak (English first)."""
    found = sorted(p.stem for p in LABEL_DIR.glob("*.yaml"))
    return (DEFAULT, *[lang for lang in found if lang != DEFAULT])


@cache
def _symbols(lang: str) -> dict[int, str]:
    """Python's "," and "." as the locale writes them (fr: U+202F and ",")."""
    return {ord(","): get_group_symbol(locale=lang), ord("."): get_decimal_symbol(locale=lang)}


class Words:
    """The labels and number formats of one language, as templates use them (`w.t("year")`,
    `w.pct(12.5)`)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in languages() else DEFAULT

    def t(self, key: str, **params: Any) -> str:
        text = _labels(self.lang).get(key) or _labels(DEFAULT).get(key) or key
        if params:
            try:
                return text.format(**params)
            except (KeyError, IndexError, ValueError):
                return text
        return text

    def has(self, key: str) -> bool:
        return key in _labels(self.lang) or key in _labels(DEFAULT)

    def num(self, value: float | int | None, digits: int = 1) -> str:
        """A number with the locale's decimal mark and grouping (CLDR's, through Babel: a
        district's table formats thousands of them, so Python formats and the locale's symbols
        replace its own); an en dash for no value."""
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return "–"
        text = (
            f"{round(value):,}" if isinstance(value, int) or digits == 0 else f"{value:,.{digits}f}"
        )
        return text.translate(_symbols(self.lang))

    def pct(self, value: float | None, digits: int = 1) -> str:
        """A percentage: `12.5%` / `12,5 %` (French puts a no-break space before the sign)."""
        if value is None:
            return "–"
        sep = "\u00a0" if self.lang == "fr" else ""
        return f"{self.num(value, digits)}{sep}%"

    def figure(self, value: float | None, unit: str) -> str:
        """A value as its unit reads: percent with %, ratios and indices with their decimals."""
        if unit == "percent":
            return self.pct(value)
        if unit == "index":
            return self.num(value, 2)
        return self.num(value, 1)

    def date(self, value: Any) -> str:
        return format_date(value, format="long", locale=self.lang) if value else ""

    def option(self, group: str, value: str) -> str:
        """A code of a category (ownership, locality, status) in words, or the code itself."""
        key = f"{group}_{value}"
        return self.t(key) if self.has(key) else value.replace("_", " ")
