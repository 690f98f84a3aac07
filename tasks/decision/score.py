"""Score tests for a paired ratio or difference of mean scores, variance under the null.

Both questions reduce to one: is the mean of per-item values ``d`` below zero?

* ratio fine-tune / buy against a bar ``r0``: ``d_i = x_i - r0 * y_i`` (the ratio is below
  ``r0`` exactly when the mean of ``d`` is below 0, the buy's mean being positive);
* difference fine-tune - buy against a margin ``m``: ``d_i = x_i - y_i - m``.

The statistic is ``Z = sqrt(n) * (mean(d) + c) / sqrt(V0)``. ``V0`` is the variance of ``d``
*under the null hypothesis* ``E[d] = 0``: the items are reweighted to the distribution
closest to the data (in likelihood) whose mean of ``d`` is exactly zero (empirical
likelihood weights ``w_i = 1 / (n (1 + lam d_i))``) and ``V0 = sum w_i d_i^2``. For
pass/fail scores the four (fine-tune, buy) outcome cells are a multinomial and these
weights are its constrained maximum-likelihood estimate, which makes ``Z`` the score test
for paired ratios of Tang, Tang and Chan (2003) and for paired differences of Tango (1998).
Two small-sample corrections make the test conservative rather than liberal:

* ``c = 1 / (4 n)`` for pass/fail scores: a quarter-item continuity correction toward "no
  evidence" (counts move in whole items); 0 for continuous scores.
* the p-value is read from the one-term Edgeworth expansion
  ``P(Z <= t) = Phi(t) - phi(t) * g / 6 * (t^2 - 1)`` with ``g`` the skewness of the mean
  under the null weights (pass rates near 1 make ``d`` skewed).

The reweighting may also put probability on the logical extremes of ``d`` that nobody
observed (for pass/fail scores: the empty cells), as the multinomial's constrained MLE
does; so one-sided discordance (the buy passes 3 items more, all else equal) gives
McNemar's ``z = -sqrt(3)``, not an infinite statistic.

Everything is vectorised over a leading batch axis: each row is one data set given as
possible values and their counts, so a Monte Carlo runs thousands of quarters through the
code the engine uses for one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from tasks.decision.types import FloatArray

_CELL_X = np.array([0.0, 0.0, 1.0, 1.0])
_CELL_Y = np.array([0.0, 1.0, 0.0, 1.0])
_ITERATIONS = 80
_TOLERANCE = 1e-12


def _null_moments(v: FloatArray, c: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(second, third) moments of ``d`` under the closest null with mean zero, per row.

    Every column is a possible value of ``d``; columns with count 0 (the logical extremes,
    such as the "fine-tune passed, buy failed" cell nobody observed) may still receive
    probability. The weights are ``c / (n (1 + lam d))``; when no ``lam`` inside the range
    that keeps every column's weight non-negative balances the mean, ``lam`` sits at the
    end of that range and the missing mass goes to the extreme column there, which is how
    the constrained maximum-likelihood estimate of a multinomial treats empty cells.
    """
    n = c.sum(axis=1)
    present = c > 0
    big = v.max(axis=1)
    small = v.min(axis=1)
    feasible = (big > 0) & (small < 0)
    lo = np.where(feasible, -1.0 / np.where(feasible, big, 1.0), 0.0)
    hi = np.where(feasible, -1.0 / np.where(feasible, small, -1.0), 0.0)

    def g_at(lam: FloatArray) -> FloatArray:
        with np.errstate(divide="ignore", invalid="ignore"):
            denom = np.where(present, 1.0 + lam[:, None] * v, 1.0)
            return np.asarray((np.where(present, c * v, 0.0) / denom).sum(axis=1))

    # a root at an end of the range: the missing mass goes to the extreme there
    at_lo = feasible & (g_at(lo) <= 0)
    at_hi = feasible & ~at_lo & (g_at(hi) >= 0)
    interior = feasible & ~at_lo & ~at_hi
    lam = np.where(at_lo, lo, np.where(at_hi, hi, 0.0))
    lam = np.where(interior & ((lam <= lo) | (lam >= hi)), 0.5 * (lo + hi), lam)
    for _ in range(_ITERATIONS):
        if not interior.any():
            break
        denom = np.where(present, 1.0 + lam[:, None] * v, 1.0)
        g = (c * v / denom).sum(axis=1)
        slope = -(c * v * v / (denom * denom)).sum(axis=1)
        # g decreases in lam: keep the bracket, step by Newton, fall back to bisection
        lo = np.where(interior & (g > 0), lam, lo)
        hi = np.where(interior & (g < 0), lam, hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = lam - g / slope
        inside = (step > lo) & (step < hi) & np.isfinite(step)
        new = np.where(interior, np.where(inside, step, 0.5 * (lo + hi)), lam)
        done = (np.abs(new - lam) <= _TOLERANCE * np.maximum(1.0, np.abs(lam))) | (
            np.abs(g) <= _TOLERANCE * n
        )
        lam = new
        if bool(done[interior].all()):
            break
    g = np.where(at_hi, 1.0, np.where(at_lo, -1.0, 0.0))
    denom = np.where(present, 1.0 + lam[:, None] * v, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(present, c / (n[:, None] * denom), 0.0)
    rest = np.clip(1.0 - p.sum(axis=1), 0.0, 1.0)
    extreme = np.where(g > 0, small, big)
    second = (p * v * v).sum(axis=1) + rest * extreme**2
    third = (p * v * v * v).sum(axis=1) + rest * extreme**3
    return np.where(feasible, second, 0.0), np.where(feasible, third, 0.0)


def lower_p(values: FloatArray, counts: FloatArray, *, binary: bool) -> FloatArray:
    """One-sided p-value, per row, for "the mean of ``d`` is below zero".

    Args:
        values: (rows, m) possible values of ``d``: the observed ones and the logical
            extremes (count 0 allowed).
        counts: (rows, m) how many items take each value.
        binary: the scores are pass/fail (turns on the continuity correction).
    """
    v = np.asarray(values, dtype=np.float64)
    c = np.asarray(counts, dtype=np.float64)
    n = c.sum(axis=1)
    mean = (c * v).sum(axis=1) / n
    v0, m3 = _null_moments(v, c)
    shift = 0.25 / n if binary else 0.0
    centred = mean + shift
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        z = np.sqrt(n) * centred / np.sqrt(v0)
        g = m3 / v0**1.5 / np.sqrt(n)
        density = np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)
        edgeworth = special.ndtr(z) - density * g / 6 * (z * z - 1)
    p = np.clip(np.where(np.isfinite(edgeworth), edgeworth, special.ndtr(z)), 0.0, 1.0)
    return np.where(v0 > 0.0, p, np.where(centred >= 0.0, 1.0, 0.0))


def lower_p_small(values: list[float], counts: list[float], *, binary: bool) -> float:
    """:func:`lower_p` for one data set with few distinct values, in plain Python.

    Pass/fail scores give at most six values (four cells and two extremes): numpy's
    per-call overhead would dominate, so this computes the same thing with floats.
    """
    n = sum(counts)
    mean = sum(c * v for v, c in zip(values, counts, strict=True)) / n
    big, small = max(values), min(values)
    obs = [(v, c) for v, c in zip(values, counts, strict=True) if c > 0]
    if not (big > 0 > small):
        return 1.0 if mean + (0.25 / n if binary else 0.0) >= 0 else 0.0
    lo, hi = -1.0 / big, -1.0 / small

    def g(lam: float) -> float:
        total = 0.0
        for v, c in obs:
            denom = 1.0 + lam * v
            if denom <= 0.0:
                return math.inf if v > 0 else -math.inf
            total += c * v / denom
        return total

    if g(lo) <= 0:
        lam, extreme = lo, big
    elif g(hi) >= 0:
        lam, extreme = hi, small
    else:
        lam, extreme = 0.0, 0.0
        for _ in range(_ITERATIONS):
            value = g(lam)
            if value > 0:
                lo = lam
            elif value < 0:
                hi = lam
            slope = -sum(c * v * v / (1.0 + lam * v) ** 2 for v, c in obs)
            step = lam - value / slope if slope else 0.5 * (lo + hi)
            new = step if lo < step < hi else 0.5 * (lo + hi)
            if abs(new - lam) <= _TOLERANCE * max(1.0, abs(lam)) or abs(value) <= _TOLERANCE * n:
                lam = new
                break
            lam = new
    weights = [(v, c / (n * (1.0 + lam * v))) for v, c in obs]
    rest = min(1.0, max(0.0, 1.0 - sum(w for _, w in weights)))
    v0 = sum(w * v * v for v, w in weights) + rest * extreme**2
    m3 = sum(w * v**3 for v, w in weights) + rest * extreme**3
    centred = mean + (0.25 / n if binary else 0.0)
    if v0 <= 0.0:
        return 1.0 if centred >= 0.0 else 0.0
    z = math.sqrt(n) * centred / math.sqrt(v0)
    skew = m3 / v0**1.5 / math.sqrt(n)
    density = math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    p: float = float(special.ndtr(z)) - density * skew / 6 * (z * z - 1)
    return float(min(1.0, max(0.0, p)))


@dataclass(frozen=True, slots=True)
class Paired:
    """Two sides' per-item scores grouped into distinct (x, y) pairs with their counts."""

    x: FloatArray
    y: FloatArray
    counts: FloatArray
    binary: bool

    @classmethod
    def of(cls, x: FloatArray, y: FloatArray) -> Paired:
        """Group aligned per-item scores (4 cells at most for pass/fail scores)."""
        if bool(np.all((x == 0.0) | (x == 1.0)) and np.all((y == 0.0) | (y == 1.0))):
            cells = np.bincount((2 * x + y).astype(np.intp), minlength=4).astype(np.float64)
            kept = cells > 0
            return cls(_CELL_X[kept], _CELL_Y[kept], cells[kept], True)
        order = np.lexsort((y, x))
        xs, ys = x[order], y[order]
        starts = np.flatnonzero(np.r_[True, (np.diff(xs) != 0) | (np.diff(ys) != 0)])
        counts = np.diff(np.r_[starts, xs.size]).astype(np.float64)
        return cls(xs[starts], ys[starts], counts, False)

    def _p(self, d: FloatArray, extremes: tuple[float, float]) -> float:
        if d.size <= 16:
            return lower_p_small(
                [*d.tolist(), *extremes], [*self.counts.tolist(), 0.0, 0.0], binary=self.binary
            )
        values = np.concatenate([d, extremes])[None, :]
        counts = np.concatenate([self.counts, (0.0, 0.0)])[None, :]
        return float(lower_p(values, counts, binary=self.binary)[0])

    def p_ratio_below(self, r0: float) -> float:
        """p-value for mean(x) / mean(y) < ``r0``."""
        return self._p(self.x - r0 * self.y, (1.0, -r0))

    def p_ratio_above(self, r0: float) -> float:
        """p-value for mean(x) / mean(y) > ``r0``."""
        return self._p(r0 * self.y - self.x, (r0, -1.0))

    def p_difference_below(self, margin: float) -> float:
        """p-value for mean(x) - mean(y) < ``margin``."""
        return self._p(self.x - self.y - margin, (1.0 - margin, -1.0 - margin))

    def p_difference_above(self, margin: float) -> float:
        """p-value for mean(x) - mean(y) > ``margin``."""
        return self._p(self.y - self.x + margin, (1.0 + margin, -1.0 + margin))


def root(p_of: Callable[[float], float], level: float, lo: float, hi: float) -> float:
    """Where the monotone ``p_of`` crosses ``level`` between ``lo`` and ``hi`` (signs differ)."""
    value = optimize.brentq(lambda t: p_of(t) - level, lo, hi, xtol=1e-7, rtol=1e-9)
    return float(value)
