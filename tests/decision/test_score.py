"""The score tests (score.py) and the comparison against every buy (comparison.py)."""

import numpy as np
import pytest
from scipy import special

from tasks.decision.comparison import compare_all, holm
from tasks.decision.score import Paired, _null_moments, lower_p

PASS_FAIL_RATIO = np.array([0.05, 1.0, -0.95, 0.0])
"""d = x - 0.95 y for the cells (pass, pass), (pass, fail), (fail, pass), (fail, fail)."""


def _cells(p: np.ndarray, n: int, reps: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).multinomial(n, p, size=reps).astype(float)


def _independent(ft: float, buy: float) -> np.ndarray:
    return np.array([ft * buy, ft * (1 - buy), (1 - ft) * buy, (1 - ft) * (1 - buy)])


def test_null_variance_of_a_paired_difference_is_the_discordant_share() -> None:
    # difference at margin 0 with b items only the fine-tune passed and c only the buy: the
    # constrained MLE sets both discordant cells to (b + c) / 2n, so V0 = (b + c) / n
    values = np.array([[0.0, 1.0, -1.0, 0.0]])
    counts = np.array([[150.0, 12.0, 30.0, 8.0]])
    second, third = _null_moments(values, counts)
    assert second[0] == pytest.approx(42 / 200, rel=1e-9)
    assert third[0] == pytest.approx(0.0, abs=1e-12)  # symmetric under the null


def test_one_sided_discordance_is_not_infinitely_significant() -> None:
    # the buy passed 1 (or 4) items more and the two agree on the other 199 (196): McNemar
    # gives z = -1 (-2). Without mass on the empty cell the statistic would be -infinity.
    for k, z in ((1, -1.0), (4, -2.0)):
        p = lower_p(np.array([[0.0, -1.0, 1.0]]), np.array([[200.0 - k, k, 0.0]]), binary=True)
        assert special.ndtr(z) < p[0] < special.ndtr(z) + 0.08


def test_size_at_the_bar_and_power_four_points_under_in_a_small_monte_carlo() -> None:
    # 20,000 simulated quarters at n = 1000 (docs/statistics.md; bench_soundness runs more)
    values = np.broadcast_to(PASS_FAIL_RATIO, (20_000, 4))
    at_bar = lower_p(values, _cells(_independent(0.9025, 0.95), 1000, 20_000, 1), binary=True)
    size = float((at_bar < 0.025).mean())
    assert size <= 0.025 + 3 * np.sqrt(0.025 * 0.975 / 20_000)
    under = lower_p(values, _cells(_independent(0.8645, 0.95), 1000, 20_000, 2), binary=True)
    assert float((under < 0.025).mean()) >= 0.84


def test_holm_worked_example() -> None:
    # sorted 0.01, 0.03, 0.04 -> 3 x 0.01 = 0.03, 2 x 0.03 = 0.06, max(0.06, 0.04) = 0.06
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.2]) == [0.2]
    assert holm([0.9, 0.8]) == [1.0, 1.0]


def _scores(n: int, passes: int) -> np.ndarray:
    return np.array([1.0] * passes + [0.0] * (n - passes))


def test_compare_all_adjusts_every_buy_and_intervals_contain_their_estimates() -> None:
    ft = _scores(400, 340)
    buys = [
        ("a", _scores(400, 380), _scores(400, 380)),
        ("b", _scores(400, 300), _scores(400, 300)),
    ]
    rows = compare_all((ft, ft), buys, measure="ratio", bar=0.95, alpha=0.05)
    a, b = rows
    assert a.p_adjusted == pytest.approx(min(1.0, 2 * min(a.p_eroded, b.p_eroded)))
    assert a.p_eroded < 0.025 and not a.holds and b.holds and b.beats
    for row in rows:
        assert row.ratio.contains(row.ratio.value) and row.difference.contains(row.difference.value)
    # the interval and the test at the bar agree: eroded against a, upper end below 0.95
    assert a.ratio.high < 0.95 < b.ratio.low


def test_errors_widen_the_intervals_and_only_weaken_the_erosion_evidence() -> None:
    ft, buy = _scores(400, 340), _scores(400, 370)
    plain = compare_all((ft, ft), [("b", buy, buy)], measure="ratio", bar=0.95, alpha=0.05)[0]
    high = ft.copy()
    high[340:350] = 1.0  # ten items the fine-tune failed errored instead: unknown scores
    bounded = compare_all((ft, high), [("b", buy, buy)], measure="ratio", bar=0.95, alpha=0.05)[0]
    assert bounded.ratio.value == plain.ratio.value  # errors count as failed in the estimate
    assert bounded.ratio.high > plain.ratio.high and bounded.ratio.low == plain.ratio.low
    assert bounded.p_eroded > plain.p_eroded


def test_zero_buy_quality_gives_an_infinite_ratio_not_an_error() -> None:
    ones, zeros = np.ones(200), np.zeros(200)
    row = compare_all((ones, ones), [("b", zeros, zeros)], measure="ratio", bar=0.95, alpha=0.05)
    assert row[0].ratio.value == float("inf") and row[0].holds
    both = Paired.of(zeros, zeros)
    assert both.p_ratio_below(0.95) == 1.0  # two sides that score nothing: no erosion shown
