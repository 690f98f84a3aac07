"""Honest statistics for a paired head-to-head: intervals, ratio, difference, tests.

Every interval is two-sided at ``1 - alpha`` and always contains its point estimate (where a
method could miss it, the interval is widened to include it: wider is the safe direction).

* One side's mean: Wilson score interval for binary scores, Student t for continuous ones.
* Paired ratio (fine-tune / buy) and difference (fine-tune - buy) of mean scores: score
  intervals, see ``score.py`` and ``comparison.py``; errored items are bounded there.
* McNemar's exact test on the discordant pass/fail pairs (binomial, p = 1/2, two-sided).
* Minimum detectable difference of the paired design at 80% power.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from tasks.decision.types import BoolArray, FloatArray


@dataclass(frozen=True, slots=True)
class Estimate:
    """A point estimate with its interval."""

    value: float
    low: float
    high: float
    method: str
    """``wilson``, ``t``, ``score`` or ``exact`` (no sampling uncertainty)."""

    def contains(self, x: float) -> bool:
        """Whether ``x`` lies in the closed interval."""
        return self.low <= x <= self.high

    @property
    def width(self) -> float:
        """``high - low``."""
        return self.high - self.low


@dataclass(frozen=True, slots=True)
class PairedComparison:
    """Fine-tune vs buy on the same items."""

    ratio: Estimate
    """Mean score fine-tune / mean score buy (errors as failures for the point estimate)."""
    difference: Estimate
    """Mean score fine-tune - mean score buy, in score points."""
    buy: str
    """The buy alternative compared (see ``decide.py`` for how it is chosen)."""
    correction: str
    """The multiplicity correction the erosion test used, in words."""


@dataclass(frozen=True, slots=True)
class McNemar:
    """McNemar's exact test on pass/fail pairs."""

    fine_tune_only: int
    """Items the fine-tune passed and the buy failed."""
    buy_only: int
    p_value: float


def is_binary(values: FloatArray) -> bool:
    """Whether every value is exactly 0 or 1."""
    return bool(np.all((values == 0.0) | (values == 1.0)))


def z_value(alpha: float) -> float:
    """The standard normal quantile at ``1 - alpha / 2``."""
    return float(special.ndtri(1.0 - alpha / 2.0))


def wilson_interval(successes: int, n: int, *, alpha: float = 0.05) -> Estimate:
    """Wilson score interval for a proportion ``successes / n``."""
    if n <= 0:
        return Estimate(float("nan"), 0.0, 1.0, "wilson")
    p = successes / n
    z = z_value(alpha)
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2.0 * n)) / denom
    half = z / denom * np.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n))
    return Estimate(p, min(p, max(0.0, centre - half)), max(p, min(1.0, centre + half)), "wilson")


def t_interval(values: FloatArray, *, alpha: float = 0.05) -> Estimate:
    """Student-t interval for the mean of ``values`` in [0, 1], clipped to [0, 1]."""
    n = values.size
    if n == 0:
        return Estimate(float("nan"), 0.0, 1.0, "t")
    mean = float(values.mean())
    if n == 1:
        return Estimate(mean, 0.0, 1.0, "t")
    sd = float(values.std(ddof=1))
    half = float(special.stdtrit(n - 1, 1.0 - alpha / 2.0)) * sd / np.sqrt(n)
    return Estimate(mean, max(0.0, mean - half), min(1.0, mean + half), "t")


def mean_interval(values: FloatArray, *, alpha: float = 0.05) -> Estimate:
    """Wilson for binary values, Student t otherwise."""
    if is_binary(values):
        return wilson_interval(int(values.sum()), values.size, alpha=alpha)
    return t_interval(values, alpha=alpha)


def mcnemar_exact(fine_tune_passed: BoolArray, buy_passed: BoolArray) -> McNemar:
    """Exact McNemar test: the discordant pairs against Binomial(b + c, 1/2), two-sided.

    Equal to ``scipy.stats.binomtest(b, b + c, 0.5).pvalue`` (the null is symmetric, so the
    two-sided p-value is twice the smaller tail, capped at 1), computed with the binomial
    CDF directly because it is called once per workload in bulk runs.
    """
    b = int(np.count_nonzero(fine_tune_passed & ~buy_passed))
    c = int(np.count_nonzero(~fine_tune_passed & buy_passed))
    if b + c == 0:
        return McNemar(b, c, 1.0)
    p = min(1.0, 2.0 * float(special.bdtr(min(b, c), b + c, 0.5)))
    return McNemar(b, c, p)


def minimum_detectable_difference(
    differences: FloatArray, *, alpha: float = 0.05, power: float = 0.8
) -> float:
    """Smallest true mean difference the paired design detects with ``power``.

    ``(z_{1-alpha/2} + z_{power}) * sd(d) / sqrt(n)`` with ``sd(d)`` the sample standard
    deviation of the per-item differences. For binary scores with no discordant items this
    is 0: no spread was seen, so the figure says nothing beyond "no difference seen".
    """
    n = differences.size
    if n < 2:
        return float("inf")
    sd = float(differences.std(ddof=1))
    return (z_value(alpha) + float(special.ndtri(power))) * sd / float(np.sqrt(n))
