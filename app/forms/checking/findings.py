"""What the checks report: findings as data, rendered in a language only when read."""

from dataclasses import dataclass, field
from typing import Any

from app.i18n import render


@dataclass(frozen=True)
class Finding:
    """One thing the checks found: a stable code, the cell's path, a severity, and the params
    its text is made from (`app.i18n` renders them in any catalogue's language).

    `message` is the text in the language the check ran in, rendered when first read, so a
    check that nobody reads the texts of pays nothing for them."""

    code: str
    path: str
    severity: str
    params: dict[str, Any] = field(default_factory=dict, hash=False)
    lang: str = field(default="en", compare=False)

    @property
    def message(self) -> str:
        """The text in the language the check ran in (English for a key its catalogue lacks)."""
        return render(self.code, self.lang, self.params)

    def in_language(self, lang: str) -> str:
        """The text in another language."""
        return render(self.code, lang, self.params)

    def as_dict(self) -> dict[str, str]:
        """The finding as the API sends it."""
        return {
            "code": self.code,
            "path": self.path,
            "message": self.message,
            "severity": self.severity,
        }

    def as_stored(self) -> dict[str, Any]:
        """The finding as a revision keeps it: data, no text (`app.i18n.render_finding` reads
        it in the reader's language)."""
        return {
            "code": self.code,
            "path": self.path,
            "severity": self.severity,
            "params": dict(self.params),
        }


@dataclass
class CheckResult:
    structure_errors: list[Finding] = field(default_factory=list)
    rule_errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    # The values as the engine read them, by element and cell key (empty when rejected): the
    # server stores them in canonical form without reading the values a second time.
    cells: dict[str, dict[tuple[str, ...], Any]] = field(default_factory=dict)

    @property
    def errors(self) -> list[Finding]:
        return self.structure_errors + self.rule_errors

    @property
    def status(self) -> str:
        """rejected (structure errors: nothing stored), invalid (rule errors) or ok."""
        if self.structure_errors:
            return "rejected"
        return "invalid" if self.rule_errors else "ok"


__all__ = ["CheckResult", "Finding"]
