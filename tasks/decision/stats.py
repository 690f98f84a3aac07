"""Honest statistics for a paired head-to-head: intervals, ratio, difference, tests.

Every interval is two-sided at ``1 - alpha`` and always contains its point estimate (where a
method could miss it, the interval is widened to include it: wider is the safe direction).

* One side's mean: Wilson score interval for binary scores, Student t for continuous ones.
* Paired ratio (fine-tune / buy) and difference (fine-tune - buy) of mean scores: a
  percentile paired bootstrap. Item indices are resampled, the same for both sides, from a
  generator seeded with ``seed``; the resample counts depend only on (n, resamples, seed) and
  are cached, so one matrix product gives every resample's sums. The lower quantile is taken
  at the order statistic below, the upper at the one above (never narrower).
* Errored items have unknown scores. The bootstrap takes, per side, a low and a high version
  of the scores (errors at 0 and at 1) and reports the widest interval they allow: the lower
  bound from (fine-tune low, buy high), the upper from (fine-tune high, buy low). More
  errors therefore only widen the interval, resample by resample.
* McNemar's exact test on the discordant pass/fail pairs (binomial, p = 1/2, two-sided).
* Minimum detectable difference of the paired design at 80% power.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from scipy import special

from tasks.decision.types import BoolArray, FloatArray

_CACHE_LIMIT = 20_000_000
"""Resample-count matrices up to this many cells (80 MB as float32) are cached."""


@dataclass(frozen=True, slots=True)
class Estimate:
    """A point estimate with its interval."""

    value: float
    low: float
    high: float
    method: str
    """``wilson``, ``t``, ``bootstrap`` or ``exact`` (no sampling uncertainty)."""

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
    resamples: int
    seed: int


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


@lru_cache(maxsize=8)
def _cached_counts(n: int, resamples: int, seed: int) -> npt.NDArray[np.float32]:
    counts = _resample_counts(np.random.default_rng(seed), n, resamples)
    counts.flags.writeable = False
    return counts


def _resample_counts(rng: np.random.Generator, n: int, rows: int) -> npt.NDArray[np.float32]:
    """How often each item is drawn in each resample, as a (rows, n) float32 matrix."""
    picks = rng.integers(0, n, size=(rows, n), dtype=np.int64)
    picks += (np.arange(rows, dtype=np.int64) * n)[:, None]
    flat = np.bincount(picks.ravel(), minlength=rows * n)
    return flat.reshape(rows, n).astype(np.float32)


_BLAS_BLOCK = 240_000
"""Multiply-adds per matrix product. Products this small run on one BLAS thread (OpenBLAS
threads only larger ones) and their rows stay in cache; one large product instead can stall
for milliseconds when the BLAS threads compete with other work for a busy machine's cores."""


def _blocked_product(counts: npt.NDArray[np.float32], x: npt.NDArray[np.float32]) -> FloatArray:
    rows_per_block = max(8, _BLAS_BLOCK // (x.shape[0] * x.shape[1]))
    out = np.empty((counts.shape[0], x.shape[1]), dtype=np.float32)
    for start in range(0, counts.shape[0], rows_per_block):
        stop = start + rows_per_block
        np.matmul(counts[start:stop], x, out=out[start:stop])
    return out.astype(np.float64)


def resample_sums(columns: FloatArray, *, resamples: int, seed: int) -> FloatArray:
    """Sums of each column of ``columns`` (n, k) in each bootstrap resample: (resamples, k).

    The resamples depend only on (n, resamples, seed): two calls with the same item count and
    seed see the same resamples, whatever the scores.
    """
    n = columns.shape[0]
    x = columns.astype(np.float32)
    if n * resamples <= _CACHE_LIMIT:
        return _blocked_product(_cached_counts(n, resamples, seed), x)
    rng = np.random.default_rng(seed)
    rows = max(1, _CACHE_LIMIT // n)
    parts = []
    for start in range(0, resamples, rows):
        counts = _resample_counts(rng, n, min(rows, resamples - start))
        parts.append(_blocked_product(counts, x))
    return np.concatenate(parts)


def _ratios(num: FloatArray, den: FloatArray) -> FloatArray:
    """num / den elementwise, with x/0 = inf and 0/0 = 1 (see :func:`_ratio`)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / den
    zero = den == 0.0
    if zero.any():
        out[zero] = np.where(num[zero] == 0.0, 1.0, np.inf)
    return out


def _ratio(num: float, den: float) -> float:
    """num / den with x/0 = inf and 0/0 = 1 (two sides that both score nothing are equal)."""
    if den == 0.0:
        return 1.0 if num == 0.0 else float("inf")
    return num / den


def _lower(values: FloatArray, q: float) -> float:
    """The order statistic at or below quantile ``q`` (numpy's ``method="lower"``)."""
    k = int(np.floor(q * (values.size - 1)))
    return float(np.partition(values, k)[k])


def _higher(values: FloatArray, q: float) -> float:
    """The order statistic at or above quantile ``q`` (numpy's ``method="higher"``)."""
    k = int(np.ceil(q * (values.size - 1)))
    return float(np.partition(values, k)[k])


def paired_bootstrap(
    fine_tune_low: FloatArray,
    fine_tune_high: FloatArray,
    buy_low: FloatArray,
    buy_high: FloatArray,
    *,
    resamples: int,
    seed: int,
    alpha: float = 0.05,
) -> PairedComparison:
    """Ratio and difference of mean scores with error-robust percentile bootstrap intervals.

    ``*_low`` are the scores with errored items at 0, ``*_high`` with them at 1 (equal when a
    side has no errors). The point estimates use the low versions (errors count as failed).
    """
    n = fine_tune_low.size
    columns = np.stack([fine_tune_low, fine_tune_high, buy_low, buy_high], axis=1)
    sums = resample_sums(columns, resamples=resamples, seed=seed)
    ft_lo, ft_hi, buy_lo, buy_hi = (float(t) for t in columns.sum(axis=0))
    lo_q, hi_q = alpha / 2.0, 1.0 - alpha / 2.0

    r_low = _lower(_ratios(sums[:, 0], sums[:, 3]), lo_q)
    r_high = _higher(_ratios(sums[:, 1], sums[:, 2]), hi_q)
    ratio = Estimate(
        _ratio(ft_lo, buy_lo),
        min(r_low, _ratio(ft_lo, buy_hi)),
        max(r_high, _ratio(ft_hi, buy_lo)),
        "bootstrap",
    )
    d_low = _lower((sums[:, 0] - sums[:, 3]) / n, lo_q)
    d_high = _higher((sums[:, 1] - sums[:, 2]) / n, hi_q)
    difference = Estimate(
        (ft_lo - buy_lo) / n,
        min(d_low, (ft_lo - buy_hi) / n),
        max(d_high, (ft_hi - buy_lo) / n),
        "bootstrap",
    )
    return PairedComparison(ratio=ratio, difference=difference, resamples=resamples, seed=seed)


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
