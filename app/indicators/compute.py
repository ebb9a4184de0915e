"""The UIS formulas (../shared/design/INDICATORS.md) over kept totals: pure functions.

`Sums` holds one group's totals (a unit, perhaps one ownership or locality): `value(key)` sums
cells, `schools(key)` says how many schools gave them. Every figure comes back as a `Figure`
with its numerator and denominator; its value is None where the denominator is missing or zero,
or where no school gave the numerator's data (never 0 for "no data")."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.indicators.cohort import GradeRates, reconstructed_cohort
from app.indicators.keep import Level, Structure

SEXES = ("F", "M")
FACILITIES = {
    "FAC_DRINKING_WATER": "has_drinking_water",
    "FAC_ELECTRICITY": "has_electricity",
    "FAC_INTERNET": "has_internet",
    "FAC_HANDWASHING": "has_handwashing",
    "FAC_IMPROVEMENT_PLAN": "improvement_plan",
}
# Figures per education level (and sex where it means something), from one year of data.
LEVEL_CODES = ("GER", "NER", "ANER", "GIR", "NIR", "GIR_LAST", "OOSR", "PCT_REP")
TEACHER_CODES = ("PTR", "PQTR", "PTTR", "QUAL_TEACH", "TRAIN_TEACH")
SCHOOL_CODES = ("PCR", *FACILITIES)
FLOW_CODES = ("PR", "RR", "DR", "EPR", "ETR")
COHORT_CODES = ("SR", "SR_LAST", "CE", "YIG")
ONE_YEAR_CODES = (*LEVEL_CODES, *TEACHER_CODES, *SCHOOL_CODES)
BASE_CODES = (*ONE_YEAR_CODES, *FLOW_CODES, *COHORT_CODES)
# Figures that can be split by sex (GPI_X and GPIA_X are defined for these).
BY_SEX = (*LEVEL_CODES, "QUAL_TEACH", "TRAIN_TEACH", *FLOW_CODES, *COHORT_CODES)
PERCENT = {
    *LEVEL_CODES,
    "QUAL_TEACH",
    "TRAIN_TEACH",
    *FACILITIES,
    *FLOW_CODES,
    "SR",
    "SR_LAST",
    "CE",
}


class Sums:
    def __init__(self, values: Mapping[str, int], schools: Mapping[str, int]) -> None:
        self.values = values
        self.schools_of = schools
        self._teachers: list[tuple[str, str, bool, bool, int]] | None = None

    def value(self, *keys: str) -> int:
        return sum(self.values.get(k, 0) for k in keys)

    def schools(self, key: str) -> int:
        return self.schools_of.get(key, 0)

    def has(self, *keys: str) -> bool:
        return any(k in self.values for k in keys)

    def teachers(
        self, level: str, sexes: Sequence[str], qualified: bool = False, trained: bool = False
    ) -> int | None:
        """Teachers of a level (form v2: teachers by level × sex × qualified × trained)."""
        if self._teachers is None:
            self._teachers = [
                (parts[1], parts[2], parts[3] == "yes", parts[4] == "yes", n)
                for key, n in self.values.items()
                if key.startswith("teachers|") and len(parts := key.split("|")) == 5
            ]
        total, found = 0, False
        for lv, sex, q, t, n in self._teachers:
            if lv != level or sex not in sexes:
                continue
            found = True
            if (qualified and not q) or (trained and not t):
                continue
            total += n
        return total if found else None


@dataclass
class Figure:
    indicator: str
    numerator: float | None
    denominator: float | None
    education_level: str | None = None
    disaggregation: dict[str, str] = field(default_factory=dict)
    percent: bool = True
    reported_key: str = "_return"
    extra: dict[str, Any] = field(default_factory=dict)
    value_override: float | None = None  # where the value is not numerator / denominator

    @property
    def value(self) -> float | None:
        if self.value_override is not None:
            return self.value_override
        if self.numerator is None or not self.denominator:
            return None
        v = self.numerator / self.denominator
        return v * 100 if self.percent else v


def _pop(
    pop: Mapping[tuple[int, str], int], ages: Iterable[int], sexes: Sequence[str]
) -> int | None:
    found, total = False, 0
    for a in ages:
        for s in sexes:
            v = pop.get((a, s))
            if v is not None:
                found, total = True, total + v
    return total if found else None


def _e(t: Sums, grades: Iterable[str], sexes: Sequence[str], prefix: str = "") -> int:
    return t.value(*(f"{prefix}~E|{g}|{s}" for g in grades for s in sexes))


def _r(t: Sums, grades: Iterable[str], sexes: Sequence[str], prefix: str = "") -> int:
    return t.value(*(f"{prefix}repeaters|{g}|{s}" for g in grades for s in sexes))


def _data(t: Sums, lv: Level, n: int, prefix: str = "") -> int | None:
    """A numerator, or None when no school of the group offering the level gave data."""
    return n if t.schools(f"{prefix}_offers|{lv.code}") else None


def level_figures(
    t: Sums,
    pop: Mapping[tuple[int, str], int],
    structure: Structure,
    lv: Level,
    sexes: Sequence[str],
    grade_rows: bool,
) -> list[Figure]:
    """GER, NER, ANER, GIR, NIR, GIR_LAST, OOSR and PCT_REP of one level (sexes: one or both)."""
    g1, gd = lv.grades[0], lv.grades[-1]
    official = _pop(pop, lv.ages, sexes)
    enrolled = _e(t, lv.grades, sexes)
    aner = t.value(*(f"~ANER|{lv.code}|{s}" for s in sexes))
    out = [
        Figure("GER", _data(t, lv, enrolled), official),
        Figure("NER", _data(t, lv, t.value(*(f"~NER|{lv.code}|{s}" for s in sexes))), official),
        Figure("ANER", _data(t, lv, aner), official),
        Figure(
            "GIR",
            _data(t, lv, _e(t, [g1], sexes) - _r(t, [g1], sexes)),
            _pop(pop, [lv.entrance_age], sexes),
        ),
        Figure(
            "GIR_LAST",
            _data(t, lv, _e(t, [gd], sexes) - _r(t, [gd], sexes)),
            _pop(pop, [lv.entrance_age + lv.duration - 1], sexes),
        ),
        Figure(
            "OOSR",
            None if official is None or _data(t, lv, aner) is None else official - aner,
            official,
        ),
        Figure("PCT_REP", _data(t, lv, _r(t, lv.grades, sexes)), enrolled or None),
    ]
    # New entrants by age are asked for the first grade of primary only (`new_entrants`).
    ne_keys = [f"new_entrants|{lv.entrance_age}|{s}" for s in sexes]
    if "P1" in lv.grades[:1] and t.has(
        *(f"new_entrants|{a}|{s}" for a in range(0, 30) for s in sexes)
    ):
        out.append(Figure("NIR", t.value(*ne_keys), _pop(pop, [lv.entrance_age], sexes)))
    else:
        out.append(
            Figure(
                "NIR",
                None,
                _pop(pop, [lv.entrance_age], sexes),
                extra={"note": "no_new_entrants_by_age"},
            )
        )
    if grade_rows:
        for g in lv.grades:
            e = _e(t, [g], sexes)
            out.append(
                Figure(
                    "PCT_REP",
                    _data(t, lv, _r(t, [g], sexes)),
                    e or None,
                    disaggregation={"grade": g},
                )
            )
    for f in out:
        f.education_level, f.reported_key = lv.code, f"_offers|{lv.code}"
    return out


def teacher_figures(t: Sums, lv: Level, sexes: Sequence[str], with_ratios: bool) -> list[Figure]:
    """PTR, PQTR, PTTR (both sexes only: pupils per teacher) and % qualified / trained."""
    teachers = t.teachers(lv.code, sexes)
    out = [
        Figure("QUAL_TEACH", t.teachers(lv.code, sexes, qualified=True), teachers),
        Figure("TRAIN_TEACH", t.teachers(lv.code, sexes, trained=True), teachers),
    ]
    if with_ratios:
        pupils = _data(t, lv, _e(t, lv.grades, SEXES)) if teachers is not None else None
        out += [
            Figure("PTR", pupils, teachers, percent=False),
            Figure("PQTR", pupils, t.teachers(lv.code, SEXES, qualified=True), percent=False),
            Figure("PTTR", pupils, t.teachers(lv.code, SEXES, trained=True), percent=False),
        ]
    for f in out:
        f.education_level, f.reported_key = lv.code, f"_offers|{lv.code}"
    return out


def school_figures(t: Sums, structure: Structure) -> list[Figure]:
    """Whole-school figures: pupil–classroom ratio and the facilities."""
    grades = [g for lv in structure.levels for g in lv.grades]
    rooms = (
        t.value("classrooms|good", "classrooms|needs_repair")
        if t.has("classrooms|good", "classrooms|needs_repair")
        else None
    )
    out = [
        Figure("PCR", _e(t, grades, SEXES) if t.schools("_return") else None, rooms, percent=False)
    ]
    for code, element in FACILITIES.items():
        out.append(
            Figure(
                code, t.value(element) if t.schools(element) else None, t.schools(element) or None
            )
        )
    return out


def flow_figures(
    p: Sums,
    structure: Structure,
    lv: Level,
    sexes: Sequence[str],
    cap: int | None,
    cohort: bool = True,
) -> list[Figure]:
    """PR, RR, DR, EPR by grade, ETR of the level and the reconstructed cohort, from the pairs
    (base year t as `0:`, outcome year t+1 as `1:`) of schools that reported in both years."""
    grades = lv.grades
    nxt = [x for x in structure.levels if x.sequence > lv.sequence]
    out: list[Figure] = []
    rates: list[GradeRates | None] = []
    has = bool(p.schools(f"1:_offers|{lv.code}"))

    def data(n: float) -> float | None:
        return n if has else None

    for i, g in enumerate(grades):
        e0 = _e(p, [g], sexes, "0:")
        r1 = _r(p, [g], sexes, "1:")
        if i + 1 < len(grades):
            g_next = grades[i + 1]
            promoted: float | None = _e(p, [g_next], sexes, "1:") - _r(p, [g_next], sexes, "1:")
            method = "next_grade"
        else:
            # Promotion out of the last grade is graduation: the graduates the schools report
            # in t+1 for the end of year t.
            keys = [f"1:graduates|{lv.code}|{s}" for s in sexes]
            promoted = p.value(*keys) if p.has(*keys) else None
            method = "graduates"
        cell = {"grade": g}
        pr = Figure(
            "PR",
            data(promoted) if promoted is not None else None,
            e0 or None,
            disaggregation=cell,
            extra={"promotion_from": method},
        )
        rr = Figure("RR", data(r1), e0 or None, disaggregation=dict(cell))
        dr_num = None if promoted is None or not has else e0 - promoted - r1
        dr = Figure("DR", dr_num, e0 or None, disaggregation=dict(cell))
        epr = Figure(
            "EPR",
            data(promoted) if promoted is not None else None,
            (e0 - r1) or None,
            disaggregation=dict(cell),
        )
        out += [pr, rr, dr, epr]
        if pr.value is None or rr.value is None:
            rates.append(None)
        else:
            prf, rrf = pr.value / 100, rr.value / 100
            rates.append(GradeRates(prf, rrf, max(0.0, 1 - prf - rrf)))
    if nxt:
        first = nxt[0].grades[0]
        e0 = _e(p, [grades[-1]], sexes, "0:")
        r1 = _r(p, [grades[-1]], sexes, "1:")
        entered = _e(p, [first], sexes, "1:") - _r(p, [first], sexes, "1:")
        out.append(Figure("ETR", data(entered), (e0 - r1) or None, extra={"to_level": nxt[0].code}))
    if not cohort:
        pass
    elif rates and all(r is not None for r in rates):
        c = reconstructed_cohort([r for r in rates if r is not None], cap=cap)
        extra = {"cap": cap, "method": c.method, "entrants": c.entrants}
        for g, s in zip(grades, c.survival, strict=True):
            out.append(
                Figure("SR", s * c.entrants, c.entrants, disaggregation={"grade": g}, extra=extra)
            )
        out.append(Figure("SR_LAST", c.survival_last * c.entrants, c.entrants, extra=extra))
        out.append(Figure("CE", c.graduates * len(grades), c.pupil_years, extra=extra))
        out.append(Figure("YIG", c.pupil_years, c.graduates or None, percent=False, extra=extra))
    else:
        extra = {"cap": cap, "note": "a grade's rates are missing"}
        out += [Figure(code, None, None, extra=extra) for code in ("SR_LAST", "CE", "YIG")]
    for f in out:
        f.education_level, f.reported_key = lv.code, f"1:_offers|{lv.code}"
    return out


def parity(f: Figure | None, m: Figure | None, code: str, adjusted: bool) -> Figure:
    """GPI_X = X(F) / X(M); GPIA_X (SDG 4.5.1) = F/M when F ≤ M, else 2 − M/F."""
    fv = f.value if f else None
    mv = m.value if m else None
    name = ("GPIA_" if adjusted else "GPI_") + code
    base = f or m
    out = Figure(name, fv, mv, percent=False)
    if base is not None:
        out.education_level = base.education_level
        out.disaggregation = {k: v for k, v in base.disaggregation.items() if k != "sex"}
        out.reported_key = base.reported_key
        out.extra = dict(base.extra)
    if adjusted and fv is not None and mv and fv > mv:
        out.value_override = 2 - mv / fv
    return out
