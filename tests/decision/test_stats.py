import numpy as np
import pytest
from scipy import stats as sps

from tasks.decision.stats import (
    is_binary,
    mcnemar_exact,
    mean_interval,
    minimum_detectable_difference,
    paired_bootstrap,
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


def _bootstrap(a: np.ndarray, b: np.ndarray, seed: int = 1) -> object:
    return paired_bootstrap(a, a, b, b, resamples=2000, seed=seed)


def test_identical_sides_have_ratio_one_and_difference_zero_exactly() -> None:
    a = np.array([1.0, 0.0] * 150)
    result = paired_bootstrap(a, a, a, a, resamples=2000, seed=3)
    assert (result.ratio.value, result.ratio.low, result.ratio.high) == (1.0, 1.0, 1.0)
    assert (result.difference.low, result.difference.high) == (0.0, 0.0)


def test_bootstrap_is_deterministic_for_a_seed_and_varies_with_it() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.random(300), rng.random(300)
    first = paired_bootstrap(a, a, b, b, resamples=2000, seed=11)
    assert first == paired_bootstrap(a, a, b, b, resamples=2000, seed=11)
    assert first.ratio != paired_bootstrap(a, a, b, b, resamples=2000, seed=12).ratio


def test_bootstrap_interval_agrees_with_normal_theory_for_a_large_binary_set() -> None:
    # 1000 items, ft passes 850, buy 900, 50 items only the buy passes (no ft-only items).
    # Paired difference -0.05 with sd of d = sqrt((50 - 1000*0.0025)/999) = 0.21806:
    # normal 95% half-width = 1.96 * 0.21806 / sqrt(1000) = 0.01352.
    ft = np.array([1.0] * 850 + [0.0] * 150)
    buy = np.array([1.0] * 900 + [0.0] * 100)
    result = paired_bootstrap(ft, ft, buy, buy, resamples=2000, seed=5)
    assert result.difference.value == pytest.approx(-0.05)
    assert result.difference.low == pytest.approx(-0.05 - 0.01352, abs=0.003)
    assert result.difference.high == pytest.approx(-0.05 + 0.01352, abs=0.003)
    assert result.ratio.value == pytest.approx(850 / 900)


def test_errors_widen_both_intervals() -> None:
    rng = np.random.default_rng(2)
    a = (rng.random(400) < 0.8).astype(float)
    b = (rng.random(400) < 0.85).astype(float)
    plain = paired_bootstrap(a, a, b, b, resamples=2000, seed=9)
    failed = np.flatnonzero(a == 0.0)[:10]
    a_low, a_high = a.copy(), a.copy()
    a_high[failed] = 1.0  # ten items the fine-tune failed errored instead: unknown scores
    bounded = paired_bootstrap(a_low, a_high, b, b, resamples=2000, seed=9)
    assert bounded.ratio.high > plain.ratio.high
    assert bounded.ratio.low == plain.ratio.low
    assert bounded.difference.high > plain.difference.high
    assert bounded.ratio.value == plain.ratio.value  # point estimate: errors count as failed


def test_zero_buy_quality_gives_infinite_ratio_not_an_error() -> None:
    a, zero = np.ones(200), np.zeros(200)
    result = paired_bootstrap(a, a, zero, zero, resamples=500, seed=1)
    assert result.ratio.value == float("inf")
    both_zero = paired_bootstrap(zero, zero, zero, zero, resamples=500, seed=1)
    assert both_zero.ratio.value == 1.0  # two sides that score nothing are equal


def test_large_item_counts_use_the_chunked_path() -> None:
    rng = np.random.default_rng(4)
    a, b = rng.random(30_000), rng.random(30_000)
    result = paired_bootstrap(a, a, b, b, resamples=1000, seed=1)
    assert result.ratio.contains(result.ratio.value)
    assert result.ratio.width < 0.05
