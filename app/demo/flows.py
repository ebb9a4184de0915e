"""Pupil flows for the demo: one school's pupils in a first year, then the next year's pupils
from them through promotion, repetition and dropout rates that vary by district.

Flow identities hold exactly per school, grade and sex (INDICATORS.md):
non-repeaters of grade g+1 in t+1 = round(PR(g) × E(g, t)), repeaters of grade g in t+1 =
round(RR(g) × E(g, t)) (at most what promotion leaves), and the promoted pupils of a level's
last grade are its graduates, reported in the t+1 return."""

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from app.demo.levels import LEVELS

PROMOTION_RANGE = (0.78, 0.95)
REPETITION_RANGE = (0.03, 0.12)
GRADUATE_SHARE = (0.80, 0.95)  # of the last grade, for the first year's graduates
NEW_ENTRANT_CHANGE = 0.10  # grade 1 intake in t+1: last year's, within ±10 %
SEXES = ("F", "M")
GRADES_BY_LEVEL: dict[str, tuple[int, list[str]]] = {
    lv["code"]: (lv["entrance_age"], lv["grades"]) for lv in LEVELS
}
# Ages of pupils around the official age of their grade (share by years above it).
_FRESH_SPREAD = {-1: 0.08, 0: 0.6, 1: 0.2, 2: 0.08, 3: 0.04}
_REPEATER_SPREAD = {1: 0.6, 2: 0.3, 3: 0.1}
_ENTRANT_SPREAD = {0: 0.75, 1: 0.2, 2: 0.05}

Ages = dict[int, int]
Cell = tuple[str, str]  # (grade or level, sex)


@dataclass(frozen=True)
class FlowRates:
    """A district's promotion and repetition rates by grade; dropout is the rest."""

    promotion: dict[str, float]
    repetition: dict[str, float]

    def dropout(self, grade: str) -> float:
        return 1 - self.promotion[grade] - self.repetition[grade]


@lru_cache(maxsize=4096)
def flow_rates(seed: int, district: str) -> FlowRates:
    """Deterministic rates for a district (and the demo's seed): a district-wide level, varied a
    little grade by grade, within PROMOTION_RANGE and REPETITION_RANGE, with PR + RR ≤ 1."""
    rng = random.Random(f"flow-rates:{seed}:{district}")
    (plo, phi), (rlo, rhi) = PROMOTION_RANGE, REPETITION_RANGE
    base_pr, base_rr = rng.uniform(plo, phi), rng.uniform(rlo, rhi)
    promotion: dict[str, float] = {}
    repetition: dict[str, float] = {}
    for _, grades in GRADES_BY_LEVEL.values():
        for grade in grades:
            pr = min(phi, max(plo, base_pr + rng.uniform(-0.03, 0.03)))
            rr = min(rhi, 1 - pr, max(rlo, base_rr + rng.uniform(-0.02, 0.02)))
            promotion[grade], repetition[grade] = pr, rr
    return FlowRates(promotion, repetition)


@dataclass
class Pupils:
    """One school's pupils in one year, by grade and sex, each split by age into those new to
    the grade and those repeating it (so new entrants and repeaters are known by age)."""

    levels: list[str]
    fresh: dict[Cell, Ages] = field(default_factory=dict)
    repeating: dict[Cell, Ages] = field(default_factory=dict)
    graduates: dict[Cell, int] = field(default_factory=dict)  # (level, sex)

    def enrolment(self, grade: str, sex: str) -> int:
        return sum(self.fresh[grade, sex].values()) + sum(self.repeating[grade, sex].values())

    def repeaters(self, grade: str, sex: str) -> int:
        return sum(self.repeating[grade, sex].values())

    def ages(self, grade: str, sex: str) -> Ages:
        out = dict(self.fresh[grade, sex])
        for age, n in self.repeating[grade, sex].items():
            out[age] = out.get(age, 0) + n
        return out

    def grades(self) -> list[tuple[str, int, str]]:
        """(level, official age, grade) of every grade the school offers, in order."""
        out = []
        for level in self.levels:
            entrance, grades = GRADES_BY_LEVEL[level]
            out += [(level, entrance + i, g) for i, g in enumerate(grades)]
        return out


def first_year(rng: random.Random, levels: Sequence[str], rates: FlowRates) -> Pupils:
    """A plausible first year, near the steady state of the district's rates (so the next year
    does not jump): each grade's newcomers the pupils the grade below would promote, give or
    take a little; repeaters at the repetition rate and older than the rest; graduates a share
    of the last grade."""
    pupils = Pupils(list(levels))
    size = rng.uniform(0.5, 1.6)
    for level in pupils.levels:
        entrance, grades = GRADES_BY_LEVEL[level]
        for sex in SEXES:
            newcomers = max(0.0, rng.gauss(32, 6) * size)
            for i, grade in enumerate(grades):
                rr = rates.repetition[grade]
                n = round(newcomers / (1 - rr))
                rep = min(n, round(n * rr))
                pupils.fresh[grade, sex] = _spread(n - rep, entrance + i, _FRESH_SPREAD)
                pupils.repeating[grade, sex] = _spread(rep, entrance + i, _REPEATER_SPREAD)
                newcomers = n * rates.promotion[grade] * rng.uniform(0.93, 1.07)
    for level in pupils.levels:
        last = GRADES_BY_LEVEL[level][1][-1]
        for sex in SEXES:
            share = rng.uniform(*GRADUATE_SHARE)
            pupils.graduates[level, sex] = round(pupils.enrolment(last, sex) * share)
    return pupils


def next_year(rng: random.Random, before: Pupils, rates: FlowRates) -> Pupils:
    """The school's pupils a year later: each grade's pupils promoted, repeating or gone, a year
    older; a fresh intake to each level's first grade; the last grade's promoted graduate."""
    after = Pupils(list(before.levels))
    for level in before.levels:
        entrance, grades = GRADES_BY_LEVEL[level]
        for sex in SEXES:
            intake = sum(before.fresh[grades[0], sex].values())
            change = rng.uniform(1 - NEW_ENTRANT_CHANGE, 1 + NEW_ENTRANT_CHANGE)
            after.fresh[grades[0], sex] = _spread(round(intake * change), entrance, _ENTRANT_SPREAD)
            for i, grade in enumerate(grades):
                ages = before.ages(grade, sex)
                n = sum(ages.values())
                promoted_n = round(rates.promotion[grade] * n)
                repeat_n = min(round(rates.repetition[grade] * n), n - promoted_n)
                promoted = _apportion(ages, promoted_n)
                left = {a: k - promoted.get(a, 0) for a, k in ages.items()}
                after.repeating[grade, sex] = _older(_apportion(left, repeat_n))
                if i + 1 < len(grades):
                    after.fresh[grades[i + 1], sex] = _older(promoted)
                else:
                    after.graduates[level, sex] = promoted_n
    return after


def _spread(n: int, official: int, shares: dict[int, float]) -> Ages:
    """n pupils over ages around the official one by shares; rounding left-overs at the most
    common age."""
    out: Ages = {}
    left = n
    for offset, share in shares.items():
        k = min(left, round(n * share))
        out[official + offset] = k
        left -= k
    top = max(shares, key=lambda o: shares[o])
    out[official + top] += left
    return out


def _apportion(ages: Ages, n: int) -> Ages:
    """n of these pupils, taken from each age in proportion (largest remainders, then the
    younger age first): every age keeps a whole, non-negative number."""
    total = sum(ages.values())
    if n <= 0 or total <= 0:
        return dict.fromkeys(ages, 0)
    exact = {a: k * n / total for a, k in ages.items()}
    out = {a: int(x) for a, x in exact.items()}
    rest = n - sum(out.values())
    for a in sorted(exact, key=lambda a: (out[a] - exact[a], a))[:rest]:
        out[a] += 1
    return out


def _older(ages: Ages) -> Ages:
    return {a + 1: k for a, k in ages.items()}


__all__ = [
    "GRADES_BY_LEVEL",
    "GRADUATE_SHARE",
    "PROMOTION_RANGE",
    "REPETITION_RANGE",
    "FlowRates",
    "Pupils",
    "first_year",
    "flow_rates",
    "next_year",
]
