"""The compiled form: structure, rules and plausibility, identical in the server and the client.

Each kind of check lives in its own module (`structure`, `rules`, `plausibility`); this one
prepares them once per definition and runs them in order. Missing (no cell) is never the same
as 0. Findings are data (`findings.Finding`): their texts are rendered only when read."""

from typing import Any

from app.forms.checking.definition import FormDefinition
from app.forms.checking.findings import CheckResult, Finding
from app.forms.checking.plausibility import PlausibilityChecks
from app.forms.checking.rules import RuleChecks
from app.forms.checking.structure import Cells, StructureChecks, compile_elements


class CompiledForm:
    """A definition prepared for fast checking; build once with compile_form, reuse."""

    def __init__(self, defn: FormDefinition) -> None:
        self.definition = defn
        self.elements = compile_elements(defn)
        self._structure = StructureChecks(self.elements)
        self._rules = RuleChecks(defn, self.elements)
        self.rules = self._rules.plans
        self._plausibility = PlausibilityChecks(defn, self.elements)
        self.plausibility = defn.plausibility
        self._numeric = {
            code: el.type in ("count", "boolean") for code, el in self.elements.items()
        }

    def check(
        self, values: Any, previous: dict[str, Any] | None = None, lang: str = "en"
    ) -> CheckResult:
        """Check one return's values (and, for plausibility, last year's values of the school).
        `lang` is the language the findings' `message` reads in; their data is the same."""
        result = CheckResult()
        cells = self._structure.check(values, lang, result.structure_errors)
        if result.structure_errors:
            return result
        result.cells = cells
        self._structure.missing_required(cells, lang, result.rule_errors)
        numeric = self._numbers(cells)
        self._rules.check(numeric, lang, result)
        self._plausibility.check(numeric, previous, lang, result)
        return result

    def read_cells(self, values: Any, problems: list[Finding]) -> Cells:
        """Only the structure pass: the cells of `values` by element and key, problems out."""
        return self._structure.check(values, "en", problems)

    def _numbers(self, cells: Cells) -> Cells:
        """Cells as the rules count them: booleans as 0/1, other non-numbers as 1 (present)."""
        out: Cells = {}
        for k, c in cells.items():
            if not self._numeric[k]:
                out[k] = {ck: 1 for ck in c}
            elif self.elements[k].type == "boolean":
                out[k] = {ck: int(v) for ck, v in c.items()}
            else:
                out[k] = c
        return out


def compile_form(defn: FormDefinition) -> CompiledForm:
    """Prepare a checked definition for fast, repeated checking."""
    return CompiledForm(defn)


__all__ = ["CheckResult", "CompiledForm", "Finding", "compile_form"]
