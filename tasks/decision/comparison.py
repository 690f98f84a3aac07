"""The fine-tune against every buy alternative: per-buy tests, intervals, Holm's correction.

For each buy alternative the engine asks two one-sided questions at the case's bar (the
quality ratio's 0.95, or the domain margin):

* **erosion** ("retire" direction): is the fine-tune below the bar against this buy? Tested
  with the fine-tune's errored items counted as passed and the buy's as failed, the most
  favourable reading for the fine-tune, so errors can only weaken this evidence.
* **holding** ("keep" direction): is the fine-tune above the bar against this buy? Tested
  with the reverse reading (fine-tune errors failed, buy errors passed).

Several buys are several erosion tests. Their p-values are adjusted with Holm's step-down
method (each buy's adjusted p-value is at least k times the smallest), and the fine-tune is
eroded only if some adjusted p-value is below ``alpha / 2``. The chance of a false erosion
finding is then at most ``alpha / 2`` however many buys there are and however they are
correlated. Holding must be shown against every buy (an intersection-union test), which
needs no correction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from tasks.decision.score import Paired, root
from tasks.decision.stats import Estimate
from tasks.decision.types import FloatArray

Measure = Literal["ratio", "difference"]


@dataclass(frozen=True, slots=True)
class BuyComparison:
    """The fine-tune against one buy alternative."""

    buy: str
    ratio: Estimate
    """Mean score fine-tune / buy (errors as failed), with its two-sided score interval."""
    difference: Estimate
    """Mean score fine-tune - buy, in score points, with its two-sided score interval."""
    p_eroded: float
    """One-sided p-value for "below the bar against this buy" (unadjusted)."""
    p_adjusted: float
    """``p_eroded`` after Holm's correction over every buy (equal to it with one buy)."""
    holds: bool
    """The fine-tune is shown above the bar against this buy at one-sided ``alpha / 2``."""
    beats: bool
    """The fine-tune is shown better than this buy (difference > 0 at one-sided
    ``alpha / 2``, errors read in the fine-tune's favour): then the buy is no replacement,
    and being cheaper does not make it one."""


def _ratio(num: float, den: float) -> float:
    """num / den with x/0 = inf and 0/0 = 1 (two sides that both score nothing are equal)."""
    if den == 0.0:
        return 1.0 if num == 0.0 else float("inf")
    return num / den


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given."""
    k = len(p_values)
    order = sorted(range(k), key=lambda i: p_values[i])
    adjusted = [0.0] * k
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (k - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def _end(
    p_of: Callable[[float], float], level: float, start: float, step: float, limit: float
) -> float:
    """Where ``p_of`` crosses ``level`` moving from ``start`` (p above level) toward ``limit``.

    Brackets the crossing in steps of ``step`` (doubling) before a Brent search, so the
    search starts close to the answer; returns ``limit`` when the crossing lies beyond it.
    """
    sign = 1.0 if limit > start else -1.0
    inner = start
    while True:
        outer = start + sign * step
        if (outer - limit) * sign >= 0:
            outer = limit
        if p_of(outer) <= level:
            return root(p_of, level, min(inner, outer), max(inner, outer))
        if outer == limit:
            return limit
        inner, step = outer, step * 2.0


def _ratio_interval(keep: Paired, erode: Paired, value: float, level: float) -> Estimate:
    keep_point = _ratio(float(keep.counts @ keep.x), float(keep.counts @ keep.y))
    erode_point = _ratio(float(erode.counts @ erode.x), float(erode.counts @ erode.y))
    low, high = 0.0, float("inf")
    if np.isfinite(keep_point) and keep.p_ratio_above(keep_point) > level:
        low = _end(keep.p_ratio_above, level, keep_point, _ratio_step(keep, keep_point), 0.0)
    if np.isfinite(erode_point) and erode.p_ratio_below(erode_point) > level:
        high = _end(erode.p_ratio_below, level, erode_point, _ratio_step(erode, erode_point), 1e6)
    return Estimate(value, min(low, value), max(high, value), "score")


def _ratio_step(pairs: Paired, ratio: float) -> float:
    """About two standard errors of the ratio (delta method), never below 1e-3."""
    n = float(pairs.counts.sum())
    mean_y = float(pairs.counts @ pairs.y) / n
    d = pairs.x - ratio * pairs.y
    var = float(pairs.counts @ (d * d)) / n
    return max(1e-3, 2.0 * float(np.sqrt(var / n)) / max(mean_y, 1e-9))


def _difference_interval(keep: Paired, erode: Paired, value: float, level: float) -> Estimate:
    n = float(keep.counts.sum())
    keep_point = float(keep.counts @ (keep.x - keep.y)) / n
    erode_point = float(erode.counts @ (erode.x - erode.y)) / n
    low, high = -1.0, 1.0
    if keep.p_difference_above(keep_point) > level:
        low = _end(keep.p_difference_above, level, keep_point, _diff_step(keep), -1.0)
    if erode.p_difference_below(erode_point) > level:
        high = _end(erode.p_difference_below, level, erode_point, _diff_step(erode), 1.0)
    return Estimate(value, min(low, value), max(high, value), "score")


def _diff_step(pairs: Paired) -> float:
    n = float(pairs.counts.sum())
    d = pairs.x - pairs.y
    mean = float(pairs.counts @ d) / n
    var = float(pairs.counts @ (d * d)) / n - mean * mean
    return max(1e-3, 2.0 * float(np.sqrt(max(var, 0.0) / n)))


def compare_all(
    fine_tune: tuple[FloatArray, FloatArray],
    buys: Sequence[tuple[str, FloatArray, FloatArray]],
    *,
    measure: Measure,
    bar: float,
    alpha: float,
    level: float | None = None,
) -> tuple[BuyComparison, ...]:
    """Every buy's comparison with the fine-tune, Holm-adjusted.

    Args:
        fine_tune: (scores with errors at 0, scores with errors at 1).
        buys: (name, low scores, high scores) per buy, aligned with the fine-tune.
        measure: ``ratio`` (cost case) or ``difference`` (domain case) is tested at ``bar``.
        bar: the quality-ratio bar or the domain margin.
        alpha: two-sided level of the intervals; each one-sided test runs at ``alpha / 2``.
        level: the one-sided level of the holding tests and the intervals instead of
            ``alpha / 2`` (a sequential look's boundary, :mod:`tasks.decision.sequential`).
    """
    ft_lo, ft_hi = fine_tune
    n = ft_lo.size
    level = alpha / 2.0 if level is None else level
    rows = []
    for name, buy_lo, buy_hi in buys:
        keep, erode = Paired.of(ft_lo, buy_hi), Paired.of(ft_hi, buy_lo)
        ratio_value = _ratio(float(ft_lo.sum()), float(buy_lo.sum()))
        diff_value = float(ft_lo.sum() - buy_lo.sum()) / n
        if measure == "ratio":
            p_eroded, p_holds = erode.p_ratio_below(bar), keep.p_ratio_above(bar)
        else:
            p_eroded, p_holds = erode.p_difference_below(bar), keep.p_difference_above(bar)
        rows.append(
            (
                name,
                _ratio_interval(keep, erode, ratio_value, level),
                _difference_interval(keep, erode, diff_value, level),
                p_eroded,
                p_holds < level,
                erode.p_difference_above(0.0) < level,
            )
        )
    adjusted = holm([r[3] for r in rows])
    return tuple(
        BuyComparison(name, ratio, diff, p, adj, holds, beats)
        for (name, ratio, diff, p, holds, beats), adj in zip(rows, adjusted, strict=True)
    )


def correction_text(k: int) -> str:
    """The multiplicity correction in words, for gates and the memo."""
    if k == 1:
        return "one buy alternative: no multiplicity correction needed"
    return f"Holm's correction over {k} buy alternatives (family-wise one-sided level)"
