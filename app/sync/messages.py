"""The push's own findings (before the check engine runs), as data; their texts, in every
language, live in the catalogues of `app.i18n` (app/i18n/catalogues/*.yaml)."""

from typing import Any

from app.i18n import render

# The codes the push reports itself; each has a text in every catalogue (English at least).
PUSH_CODES = (
    "NOT_AN_ITEM",
    "INVALID_ITEM",
    "ID_REUSED",
    "UNKNOWN_SCHOOL",
    "OUTSIDE_AREA",
    "UNKNOWN_YEAR",
    "WINDOW_CLOSED",
    "UNKNOWN_FORM",
)


def push_message(code: str, lang: str, **kw: object) -> str:
    """The text of a push finding, filled in, in the caller's language (English otherwise)."""
    return render(code, lang, kw)


def push_finding(code: str, path: str = "", **params: object) -> dict[str, Any]:
    """A push finding (an error) in the stored shape `{code, path, severity, params}`; the API's
    shape in the caller's language is `app.i18n.render_finding(finding, lang)`."""
    return {"code": code, "path": path, "severity": "error", "params": dict(params)}


__all__ = ["PUSH_CODES", "push_finding", "push_message"]
