"""Plausibility against the school's previous year (warnings only): a grade's enrolment changing
by more than a set share, the pupil–teacher ratio out of range, a cohort growing impossibly
(this year's P2 much larger than last year's P1)."""

import itertools
from typing import Any

from app.forms.checking.definition import FormDefinition
from app.forms.checking.findings import CheckResult, Finding
from app.forms.checking.rules import fmt
from app.forms.checking.structure import Cells, Element

PLAUSIBILITY_CODES = ("ENROL_CHANGE", "PTR_HIGH", "PTR_LOW", "COHORT_JUMP")


class PlausibilityChecks:
    """The form's plausibility settings, ready to run (no-op when it has none)."""

    def __init__(self, defn: FormDefinition, elements: dict[str, Element]) -> None:
        p = defn.plausibility
        self.settings = p
        self.grade_pos: int | None = None
        self.grades: list[str] = []
        if p is not None and p.enrolment_element in elements:
            el = elements[p.enrolment_element]
            if p.grade_category in el.dims:
                self.grade_pos = el.dims.index(p.grade_category)
                self.grades = list(defn.categories[p.grade_category].options)

    def check(
        self, cells: Cells, previous: dict[str, Any] | None, lang: str, result: CheckResult
    ) -> None:
        """Append the warnings for this year's (numeric) cells against last year's values."""
        p, gpos = self.settings, self.grade_pos
        if p is None or gpos is None:
            return
        now: dict[str, int] = {}
        for key, v in cells.get(p.enrolment_element, {}).items():
            now[key[gpos]] = now.get(key[gpos], 0) + v
        pupils = sum(now.values())
        teachers_cells = cells.get(p.teachers_element)
        if teachers_cells and pupils >= p.min_pupils:
            teachers = sum(teachers_cells.values())
            lo, hi = p.ptr_range
            if teachers > 0:
                ratio = pupils / teachers
                if ratio > hi or ratio < lo:
                    code = "PTR_HIGH" if ratio > hi else "PTR_LOW"
                    limit = fmt(hi if ratio > hi else lo)
                    where = f"values.{p.teachers_element}"
                    _warn(result, code, where, lang, ratio=f"{ratio:.1f}", limit=limit)
        if not previous or not isinstance(previous, dict):
            return
        before = _grade_totals(previous.get(p.enrolment_element), p.grade_category)
        ename = p.enrolment_element
        for grade in self.grades:
            if grade in now and grade in before and before[grade] >= p.min_pupils:
                share = (now[grade] - before[grade]) / before[grade]
                if abs(share) > p.max_change_share:
                    _warn(
                        result,
                        "ENROL_CHANGE",
                        f"values.{ename}[grade={grade}]",
                        lang,
                        grade=grade,
                        share=f"{share * 100:+.0f}",
                        before=before[grade],
                        now=now[grade],
                    )
        for seq in p.cohort_sequences:
            for prev_grade, grade in itertools.pairwise(seq):
                if (
                    grade in now
                    and prev_grade in before
                    and now[grade] >= p.min_pupils
                    and now[grade] > p.cohort_factor * before[prev_grade]
                ):
                    _warn(
                        result,
                        "COHORT_JUMP",
                        f"values.{ename}[grade={grade}]",
                        lang,
                        grade=grade,
                        now=now[grade],
                        previous_grade=prev_grade,
                        before=before[prev_grade],
                    )


def _warn(result: CheckResult, code: str, path: str, lang: str, **params: Any) -> None:
    result.warnings.append(Finding(code, path, "warning", params, lang))


def _grade_totals(cells: Any, grade_dim: str) -> dict[str, int]:
    out: dict[str, int] = {}
    if not isinstance(cells, list):
        return out
    for c in cells:
        if isinstance(c, dict) and type(c.get("value")) is int and grade_dim in c:
            g = str(c[grade_dim])
            out[g] = out.get(g, 0) + c["value"]
    return out


__all__ = ["PLAUSIBILITY_CODES", "PlausibilityChecks"]
