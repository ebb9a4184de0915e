"""The UIS reconstructed cohort model: 1,000 grade-1 entrants run through one year's grade rates.

Pure Python, no I/O. A pupil's state is (grade, repetitions so far); since every pupil of the
cohort enters grade 1 in year 1, a pupil leaving in simulated year y has spent exactly y
pupil-years, which gives the pupil-years of graduates and of dropouts without tracking paths.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

RATE_TOLERANCE = 1e-9
REMAINING_EPSILON = 1e-9  # stop once fewer pupils than this are still in school


@dataclass(frozen=True)
class GradeRates:
    """One grade's promotion, repetition and dropout rates (fractions 0..1) for base year t.

    For the last grade of a level, `promotion` is graduation. `dropout` may be omitted: it is then
    1 − promotion − repetition; when given, the three must sum to 1 within 1e-9.
    """

    promotion: float
    repetition: float
    dropout: float = math.nan  # NaN = not given: computed in __post_init__

    def __post_init__(self) -> None:
        for name, rate in (("promotion", self.promotion), ("repetition", self.repetition)):
            if not math.isfinite(rate) or not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} rate must be between 0 and 1, got {rate!r}")
        remainder = 1.0 - self.promotion - self.repetition
        if remainder < -RATE_TOLERANCE:
            raise ValueError(
                f"promotion + repetition exceed 1: {self.promotion!r} + {self.repetition!r}"
            )
        if math.isnan(self.dropout):
            object.__setattr__(self, "dropout", max(remainder, 0.0))
            return
        if not math.isfinite(self.dropout) or not 0.0 <= self.dropout <= 1.0:
            raise ValueError(f"dropout rate must be between 0 and 1, got {self.dropout!r}")
        total = self.promotion + self.repetition + self.dropout
        if abs(total - 1.0) > RATE_TOLERANCE:
            raise ValueError(f"promotion + repetition + dropout must be 1, got {total!r}")


@dataclass(frozen=True)
class CohortResult:
    """The reconstructed cohort's flows and efficiency figures (see `reconstructed_cohort`)."""

    entrants: int
    cap: int | None
    survival: list[float]
    survival_last: float
    graduates: float
    dropouts_by_grade: list[float]
    pupil_years: float
    pupil_years_graduates: float
    coefficient_of_efficiency: float | None
    years_input_per_graduate: float | None
    method: str


def reconstructed_cohort(
    rates: Sequence[GradeRates],
    *,
    entrants: int = 1000,
    cap: int | None = None,
    max_years: int = 50,
) -> CohortResult:
    """Run `entrants` grade-1 pupils through the grade rates g1..gd held constant, year by year."""
    if not rates:
        raise ValueError("the cohort needs the rates of at least one grade")
    if entrants < 1:
        raise ValueError(f"entrants must be at least 1, got {entrants}")
    if cap is not None and cap < 0:
        raise ValueError(f"the repetition cap must be 0 or more, got {cap}")
    if max_years < 1:
        raise ValueError(f"max_years must be at least 1, got {max_years}")

    grades = len(rates)
    # Without a cap the repetition count never changes a pupil's fate: keep a single k = 0.
    states = 1 if cap is None else cap + 1
    # in_school[i][k]: pupils in grade i (0-based) with k repetitions so far, this year.
    in_school = [[0.0] * states for _ in range(grades)]
    in_school[0][0] = float(entrants)
    reached = [0.0] * grades
    reached[0] = float(entrants)
    dropouts = [0.0] * grades
    graduates = 0.0
    pupil_years = 0.0
    pupil_years_graduates = 0.0
    years_run = 0
    remaining = float(entrants)

    while remaining >= REMAINING_EPSILON and years_run < max_years:
        years_run += 1
        pupil_years += remaining
        following = [[0.0] * states for _ in range(grades)]
        for i, grade_rates in enumerate(rates):
            for k, pupils in enumerate(in_school[i]):
                if pupils == 0.0:
                    continue
                promoted = pupils * grade_rates.promotion
                repeating = pupils * grade_rates.repetition
                dropouts[i] += pupils * grade_rates.dropout
                if i + 1 < grades:
                    following[i + 1][k] += promoted
                    reached[i + 1] += promoted
                else:
                    graduates += promoted
                    pupil_years_graduates += promoted * years_run
                if cap is None:
                    following[i][0] += repeating
                elif k + 1 <= cap:
                    following[i][k + 1] += repeating
                else:
                    dropouts[i] += repeating  # one repetition more than the cap allows
        in_school = following
        remaining = sum(sum(row) for row in in_school)

    coefficient = graduates * grades / pupil_years * 100.0 if pupil_years > 0.0 else None
    years_per_graduate = pupil_years / graduates if graduates > 0.0 else None
    survival = [pupils / entrants for pupils in reached]
    return CohortResult(
        entrants=entrants,
        cap=cap,
        survival=survival,
        survival_last=survival[-1],
        graduates=graduates,
        dropouts_by_grade=dropouts,
        pupil_years=pupil_years,
        pupil_years_graduates=pupil_years_graduates,
        coefficient_of_efficiency=coefficient,
        years_input_per_graduate=years_per_graduate,
        method=_method(
            grades=grades,
            entrants=entrants,
            cap=cap,
            max_years=max_years,
            years_run=years_run,
            still_in_school=remaining,
        ),
    )


def _method(
    *,
    grades: int,
    entrants: int,
    cap: int | None,
    max_years: int,
    years_run: int,
    still_in_school: float,
) -> str:
    """The one-paragraph English description of how this result was computed."""
    if cap is None:
        cap_text = (
            "No cap on repetitions is applied: a pupil may repeat any grade any number of times."
        )
    else:
        cap_text = (
            f"Each pupil may repeat at most {cap} time{'s' if cap != 1 else ''} over the whole "
            "level (repetitions are counted per pupil across grades, not per grade); a pupil who "
            "would repeat once more than the cap drops out instead."
        )
    if still_in_school >= REMAINING_EPSILON:
        horizon_text = (
            f"The simulation stopped at its horizon of {max_years} years with "
            f"{still_in_school:.6g} pupils still in school (for instance when a repetition rate "
            "is 100% and there is no cap); they are counted in the pupil-years but neither as "
            "graduates nor as dropouts."
        )
    else:
        horizon_text = (
            f"The simulation ran {years_run} year{'s' if years_run != 1 else ''}, until fewer "
            f"than {REMAINING_EPSILON:g} pupils remained in school (horizon {max_years} years)."
        )
    return (
        f"UIS reconstructed cohort model: {entrants} pupils enter grade 1 of a {grades}-grade "
        "level in the same year and flow through the promotion, repetition and dropout rates of "
        "the base year t, which are held constant for every following year. Each year the "
        "promoted share of a grade moves to the next grade, the repeating share stays in the "
        "same grade, and the dropout share leaves school for good (dropouts never return). "
        "Promotion out of the last grade is graduation, taken from graduates over enrolment or "
        f"from a graduation rate given as data. {cap_text} A pupil reaching a grade is counted "
        "once, whatever their repetitions. Every pupil present in a grade in a year counts one "
        "pupil-year. The coefficient of efficiency is graduates × number of grades over all "
        "pupil-years spent by graduates and dropouts × 100; years input per graduate is "
        f"pupil-years over graduates. {horizon_text}"
    )
