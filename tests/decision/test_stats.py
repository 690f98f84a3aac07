import numpy as np
import pytest
from scipy import stats as sps

from tasks.decision.stats import (
    is_binary,
    mcnemar_exact,
    mean_interval,
    minimum_detectable_difference,
    t_interval,
    wilson_interval,
)


def test_wilson_worked_example() -> None:
    # 180 of 200 passed, z = 1.959964, z^2 = 3.841459:
    #   denom  = 1 + z^2/n                 = 1.0192073
    #   centre = (0.9 + z^2/(2n)) / denom  = 0.9096036 / 1.0192073 = 0.892462
    #   half   = z/denom * sqrt(0.9*0.1/200 + z^2/(4n^2))
    #          = 1.923027 * sqrt(0.00045 + 0.0000240091) = 1.923027 * 0.0217718 = 0.041868
    e = wilson_interval(180, 200)
    assert e.value == 0.9
    assert e.low == pytest.approx(0.892462 - 0.041868, abs=2e-6)
    assert e.high == pytest.approx(0.892462 + 0.041868, abs=2e-6)
    assert e.method == "wilson"


def test_wilson_at_the_edges_stays_in_unit_interval_and_contains_the_estimate() -> None:
    zero, full = wilson_interval(0, 200), wilson_interval(200, 200)
    assert zero.low == 0.0 and zero.value == 0.0 and zero.high > 0.0
    assert full.high == 1.0 and full.value == 1.0 and full.low < 1.0


def test_t_interval_worked_example() -> None:
    # values 0.2, 0.4, 0.6, 0.8: mean 0.5, sd = sqrt((0.09+0.01+0.01+0.09)/3) = 0.258199,
    # t(3, 0.975) = 3.182446, half = 3.182446 * 0.2581989 / 2 = 0.410852
    e = t_interval(np.array([0.2, 0.4, 0.6, 0.8]))
    assert e.value == pytest.approx(0.5)
    assert e.low == pytest.approx(0.5 - 0.410852, abs=2e-6)
    assert e.high == pytest.approx(0.5 + 0.410852, abs=2e-6)


def test_mean_interval_picks_wilson_for_binary_and_t_for_continuous() -> None:
    assert mean_interval(np.array([0.0, 1.0, 1.0])).method == "wilson"
    assert mean_interval(np.array([0.0, 0.5, 1.0])).method == "t"
    assert is_binary(np.array([1.0, 0.0])) and not is_binary(np.array([0.25]))


def test_mcnemar_worked_example_matches_binomtest() -> None:
    # 2 items only the fine-tune passed, 8 only the buy: p = 2 * P(X <= 2 | n=10, 1/2)
    #   = 2 * (1 + 10 + 45) / 1024 = 0.109375
    ft = np.array([True] * 2 + [False] * 8 + [True] * 50)
    buy = np.array([False] * 2 + [True] * 8 + [True] * 50)
    result = mcnemar_exact(ft, buy)
    assert (result.fine_tune_only, result.buy_only) == (2, 8)
    assert result.p_value == pytest.approx(0.109375)
    assert result.p_value == pytest.approx(sps.binomtest(2, 10, 0.5).pvalue)


@pytest.mark.parametrize(("b", "c"), [(0, 0), (5, 5), (0, 7), (13, 2), (40, 61)])
def test_mcnemar_equals_scipy_binomtest(b: int, c: int) -> None:
    ft = np.array([True] * b + [False] * c, dtype=bool)
    buy = np.array([False] * b + [True] * c, dtype=bool)
    expected = 1.0 if b + c == 0 else sps.binomtest(b, b + c, 0.5).pvalue
    assert mcnemar_exact(ft, buy).p_value == pytest.approx(expected, rel=1e-9)


def test_minimum_detectable_difference_worked_example() -> None:
    # 200 paired items, 2 differences of +1 and 8 of -1: mean -0.03,
    # sd = sqrt((10 - 200 * 0.03^2) / 199) = sqrt(0.0493467) = 0.222141,
    # MDD = (1.959964 + 0.841621) * 0.222141 / sqrt(200) = 0.044007
    d = np.array([1.0] * 2 + [-1.0] * 8 + [0.0] * 190)
    assert minimum_detectable_difference(d) == pytest.approx(0.044007, abs=1e-6)
