"""Gender parity: GPI(F, M) x GPI(M, F) = 1; the adjusted GPI stays in 0..2 and equals GPI
where F <= M (properties over the function that makes every GPI_X / GPIA_X row)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.indicators.compute import Figure, parity

rate = st.floats(min_value=0.01, max_value=500, allow_nan=False)


@given(f=rate, m=rate)
def test_gpi_of_swapped_sexes_multiply_to_one(f: float, m: float) -> None:
    a, b = Figure("GER", f, 100), Figure("GER", m, 100)
    forward, backward = parity(a, b, "GER", False), parity(b, a, "GER", False)
    assert forward.value is not None and backward.value is not None
    assert forward.value * backward.value == pytest.approx(1, rel=1e-9)


@given(f=rate, m=rate)
def test_adjusted_gpi_is_bounded_and_agrees_below_parity(f: float, m: float) -> None:
    a, b = Figure("GER", f, 100), Figure("GER", m, 100)
    gpia, gpi = parity(a, b, "GER", True).value, parity(a, b, "GER", False).value
    assert gpia is not None and gpi is not None
    assert 0 <= gpia <= 2
    if f <= m:
        assert gpia == pytest.approx(gpi)
    else:
        assert gpia == pytest.approx(2 - m / f, rel=1e-9)


def test_no_parity_without_a_male_value() -> None:
    assert parity(Figure("GER", 5, 10), Figure("GER", 5, None), "GER", False).value is None
