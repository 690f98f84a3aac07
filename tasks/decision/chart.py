"""The memo's trend chart: both sides' quality and cost per useful task over quarters.

Drawn with the helpers every chart shares (:mod:`tasks.decision.plotting`: matplotlib
imported inside them, an Agg canvas, PNG bytes in memory).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from tasks.decision.plotting import (
    finish_cost_panel,
    finish_panel,
    new_figure,
    plot_sides,
    png_bytes,
)
from tasks.decision.quarter import Quarter
from tasks.decision.types import Case, HistoryPoint, Thresholds

if TYPE_CHECKING:
    from tasks.decision.outcome import DecisionOutcome


def trend_chart_png(
    history: Sequence[HistoryPoint],
    thresholds: Thresholds,
    *,
    case: Case = "cost_distillation",
    title: str | None = None,
) -> bytes:
    """PNG bytes of quality (top) and cost per useful task (bottom) per quarter.

    The top panel draws the bar the fine-tune must clear: ``quality_ratio_min`` x the buy
    alternative's quality (cost case) or the buy's quality + ``domain_margin_min`` (domain case).
    Verdicts are written above the fine-tune's points.
    """
    points = sorted(history, key=lambda p: Quarter.parse(p.quarter))
    xs = [Quarter.parse(p.quarter).ordinal for p in points]
    labels = [str(Quarter.parse(p.quarter)) for p in points]

    def series(values: Sequence[float | None]) -> tuple[list[int], list[float]]:
        kept = [(x, v) for x, v in zip(xs, values, strict=True) if v is not None]
        return [x for x, _ in kept], [v for _, v in kept]

    fig = new_figure(8.0, 6.4, dpi=110)
    top, bottom = fig.subplots(2, 1, sharex=True)

    ft_x, ft_q = series([p.fine_tune_quality for p in points])
    buy_x, buy_q = series([p.buy_quality for p in points])
    plot_sides(top, (ft_x, ft_q), (buy_x, buy_q))
    if case == "cost_distillation":
        bar = [thresholds.quality_ratio_min * q for q in buy_q]
        bar_label = f"bar: {thresholds.quality_ratio_min:.0%} of buy"
    else:
        bar = [q + thresholds.domain_margin_min for q in buy_q]
        bar_label = f"bar: buy {thresholds.domain_margin_min:+.2f}"
    top.plot(buy_x, bar, "--", color="0.35", label=bar_label)
    for point, x in zip(points, xs, strict=True):
        if point.verdict and point.fine_tune_quality is not None:
            top.annotate(
                point.verdict,
                (x, point.fine_tune_quality),
                textcoords="offset points",
                xytext=(0, 8),
                ha="center",
                fontsize=8,
                color="0.25",
            )
    finish_panel(top, "quality (mean score)")

    ft_cx, ft_c = series([p.fine_tune_cost_per_useful_task for p in points])
    buy_cx, buy_c = series([p.buy_cost_per_useful_task for p in points])
    plot_sides(bottom, (ft_cx, ft_c), (buy_cx, buy_c))
    finish_cost_panel(bottom, ft_c + buy_c)
    bottom.set_xticks(xs, labels, rotation=0 if len(xs) <= 8 else 45)
    bottom.set_xlabel("quarter")
    fig.suptitle(title or "Fine-tune vs buy alternative by quarter")

    return png_bytes(fig)


def outcome_chart_png(outcome: DecisionOutcome) -> bytes:
    """The chart for a decision: its history plus this quarter."""
    return trend_chart_png(
        [*outcome.history, outcome.history_point()],
        outcome.thresholds,
        case=outcome.case,
        title=f"{outcome.workload}: {outcome.fine_tune.name} vs buy, to {outcome.quarter}",
    )
