"""The reconstructed cohort: the product formula, mass conservation, a hand-run capped case."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.indicators.cohort import GradeRates, reconstructed_cohort

# Repetition up to 0.95 so that the cohort empties well within the horizon used below.
LONG_HORIZON = 5000


@st.composite
def grade_rates(draw: st.DrawFn, max_repetition: float = 0.95) -> GradeRates:
    repetition = draw(st.floats(min_value=0.0, max_value=max_repetition))
    share_promoted = draw(st.floats(min_value=0.0, max_value=1.0))
    return GradeRates(promotion=share_promoted * (1.0 - repetition), repetition=repetition)


levels = st.lists(grade_rates(), min_size=1, max_size=8)


def product_survival(rates: list[GradeRates]) -> list[float]:
    survival = [1.0]
    for grade in rates[:-1]:
        survival.append(survival[-1] * grade.promotion / (1.0 - grade.repetition))
    return survival


@settings(max_examples=200, deadline=None)
@given(levels)
def test_uncapped_survival_is_the_product_formula(rates: list[GradeRates]) -> None:
    result = reconstructed_cohort(rates, max_years=LONG_HORIZON)
    assert result.survival == pytest.approx(product_survival(rates), abs=1e-9, rel=0)
    assert result.survival[0] == 1.0
    assert result.survival_last == result.survival[-1]
    last = rates[-1]
    graduation = result.survival_last * last.promotion / (1.0 - last.repetition)
    assert result.graduates == pytest.approx(1000 * graduation, abs=1e-6, rel=0)


@settings(max_examples=200, deadline=None)
@given(levels, st.one_of(st.none(), st.integers(min_value=0, max_value=4)))
def test_every_entrant_graduates_or_drops_out(rates: list[GradeRates], cap: int | None) -> None:
    result = reconstructed_cohort(rates, cap=cap, max_years=LONG_HORIZON)
    assert result.graduates + sum(result.dropouts_by_grade) == pytest.approx(1000, abs=1e-6)
    assert len(result.dropouts_by_grade) == len(rates)
    assert result.pupil_years_graduates <= result.pupil_years + 1e-9


@settings(max_examples=200, deadline=None)
@given(st.lists(grade_rates(max_repetition=1.0), min_size=1, max_size=8), st.integers(0, 4))
def test_a_capped_cohort_empties_even_when_everyone_repeats(
    rates: list[GradeRates], cap: int
) -> None:
    # With a cap nobody stays longer than d + cap years, whatever the rates.
    result = reconstructed_cohort(rates, cap=cap, max_years=len(rates) + cap)
    assert result.graduates + sum(result.dropouts_by_grade) == pytest.approx(1000, abs=1e-6)


@settings(max_examples=200, deadline=None)
@given(levels, st.integers(min_value=0, max_value=4))
def test_a_cap_never_raises_survival(rates: list[GradeRates], cap: int) -> None:
    capped = reconstructed_cohort(rates, cap=cap, max_years=LONG_HORIZON)
    uncapped = reconstructed_cohort(rates, max_years=LONG_HORIZON)
    for with_cap, without in zip(capped.survival, uncapped.survival, strict=True):
        assert with_cap <= without + 1e-12
    assert capped.graduates <= uncapped.graduates + 1e-9


def test_two_grades_with_a_cap_of_one_by_hand() -> None:
    # PR = 0.5, RR = 0.3, DR = 0.2 in both grades; a pupil may repeat once over the level.
    # Year 1: G1 (k=0) 1000 -> 500 promoted to G2 (k=0), 300 repeat (k=1), 200 drop out.
    #         pupil-years 1000.
    # Year 2: G1 (k=1) 300 -> 150 promoted to G2 (k=1), 90 would repeat a 2nd time > cap -> drop,
    #         60 drop: G1 dropouts 90 + 60 = 150.
    #         G2 (k=0) 500 -> 250 graduate (2 years each), 150 repeat (k=1), 100 drop out.
    #         pupil-years 300 + 500 = 800.
    # Year 3: G2 (k=1) 150 + 150 = 300 -> 150 graduate (3 years each), 90 would repeat -> drop,
    #         60 drop: G2 dropouts 90 + 60 = 150.  pupil-years 300.
    # Year 4: nobody left.
    # Graduates 250 + 150 = 400; dropouts G1 200 + 150 = 350, G2 100 + 150 = 250 (sum 1000).
    # Reached G2: 500 + 150 = 650 -> survival 0.65 (uncapped it would be 0.5 / 0.7 = 0.714…).
    # Pupil-years 1000 + 800 + 300 = 2100; of graduates 250 × 2 + 150 × 3 = 950.
    # CE = 400 × 2 / 2100 × 100 = 38.095…; YIG = 2100 / 400 = 5.25.
    rates = [GradeRates(0.5, 0.3, 0.2), GradeRates(0.5, 0.3, 0.2)]
    result = reconstructed_cohort(rates, cap=1)
    assert result.entrants == 1000
    assert result.cap == 1
    assert result.survival == pytest.approx([1.0, 0.65])
    assert result.survival_last == pytest.approx(0.65)
    assert result.graduates == pytest.approx(400)
    assert result.dropouts_by_grade == pytest.approx([350, 250])
    assert result.pupil_years == pytest.approx(2100)
    assert result.pupil_years_graduates == pytest.approx(950)
    assert result.coefficient_of_efficiency == pytest.approx(800 / 2100 * 100)
    assert result.years_input_per_graduate == pytest.approx(5.25)
    assert "at most 1 time" in result.method


def test_the_same_case_without_a_cap_follows_the_formula() -> None:
    rates = [GradeRates(0.5, 0.3), GradeRates(0.5, 0.3)]
    result = reconstructed_cohort(rates)
    # Each grade: a pupil eventually leaves promoted with probability 0.5 / 0.7 = 5/7.
    assert result.survival == pytest.approx([1.0, 5 / 7], abs=1e-9)
    assert result.graduates == pytest.approx(1000 * 25 / 49, abs=1e-6)
    # Expected years per grade visit: 1 / (1 - 0.3); pupil-years = 1000 × (1 + 5/7) / 0.7.
    assert result.pupil_years == pytest.approx(1000 * (1 + 5 / 7) / 0.7, abs=1e-6)
    assert "No cap" in result.method


def test_a_cap_of_zero_allows_no_repetition() -> None:
    # Every would-be repeater drops out: each grade is a one-year pass or leave.
    rates = [GradeRates(0.6, 0.3), GradeRates(0.8, 0.1), GradeRates(0.9, 0.05)]
    result = reconstructed_cohort(rates, cap=0)
    assert result.survival == pytest.approx([1.0, 0.6, 0.48])
    assert result.graduates == pytest.approx(1000 * 0.6 * 0.8 * 0.9)
    assert result.dropouts_by_grade == pytest.approx([400, 600 * 0.2, 480 * 0.1])
    assert result.pupil_years == pytest.approx(1000 + 600 + 480)
    assert result.pupil_years_graduates == pytest.approx(432 * 3)
    assert result.coefficient_of_efficiency == pytest.approx(432 * 3 / 2080 * 100)


def test_no_dropout_and_no_repetition_is_fully_efficient() -> None:
    result = reconstructed_cohort([GradeRates(1.0, 0.0)] * 6)
    assert result.survival == [1.0] * 6
    assert result.graduates == 1000
    assert result.coefficient_of_efficiency == pytest.approx(100)
    assert result.years_input_per_graduate == pytest.approx(6)


def test_everyone_repeating_forever_stops_at_the_horizon() -> None:
    result = reconstructed_cohort([GradeRates(0.0, 1.0), GradeRates(0.5, 0.5)], max_years=20)
    assert result.survival == [1.0, 0.0]
    assert result.graduates == 0
    assert result.pupil_years == 20 * 1000
    assert result.coefficient_of_efficiency == 0
    assert result.years_input_per_graduate is None
    assert "horizon of 20 years" in result.method


def test_a_grade_nobody_passes_ends_survival() -> None:
    rates = [GradeRates(0.7, 0.1), GradeRates(0.0, 0.2), GradeRates(0.9, 0.1)]
    result = reconstructed_cohort(rates, cap=2)
    assert result.survival[2] == 0.0
    assert result.graduates == 0
    assert result.years_input_per_graduate is None
    assert result.coefficient_of_efficiency == 0


def test_dropout_is_computed_or_checked() -> None:
    assert GradeRates(0.7, 0.2).dropout == pytest.approx(0.1)
    assert GradeRates(0.7, 0.3).dropout == pytest.approx(0.0, abs=1e-15)
    assert GradeRates(0.7, 0.2, 0.1).dropout == 0.1
    with pytest.raises(ValueError, match="must be 1"):
        GradeRates(0.7, 0.2, 0.2)
    with pytest.raises(ValueError, match="exceed 1"):
        GradeRates(0.8, 0.3)
    with pytest.raises(ValueError, match="between 0 and 1"):
        GradeRates(-0.1, 0.3)
    with pytest.raises(ValueError, match="between 0 and 1"):
        GradeRates(math.nan, 0.3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"entrants": 0}, "entrants"),
        ({"cap": -1}, "cap"),
        ({"max_years": 0}, "max_years"),
    ],
)
def test_bad_parameters_are_refused(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        reconstructed_cohort([GradeRates(0.9, 0.05)], **kwargs)


def test_no_grades_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one grade"):
        reconstructed_cohort([])


def test_other_cohort_sizes_scale() -> None:
    rates = [GradeRates(0.8, 0.1), GradeRates(0.85, 0.1)]
    small = reconstructed_cohort(rates, entrants=100, cap=2)
    large = reconstructed_cohort(rates, entrants=1000, cap=2)
    assert small.survival == pytest.approx(large.survival)
    assert small.graduates * 10 == pytest.approx(large.graduates)
    assert small.coefficient_of_efficiency == pytest.approx(large.coefficient_of_efficiency)
