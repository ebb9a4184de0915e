"""CSV cells a spreadsheet will not run: every CSV the server writes goes through `safe_cell`."""

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(v: Any) -> Any:
    """Text that starts like a formula (`=HYPERLINK(…)`) gets a leading quote; the rest is
    unchanged."""
    if isinstance(v, str) and v[:1] in FORMULA_STARTS:
        return "'" + v
    return v
