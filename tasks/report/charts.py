"""PNG charts for reports (matplotlib's Agg canvas, no pyplot state). Frames in, bytes out.

- :func:`history_chart_png`: one workload over the quarters: both sides' quality with their
  intervals and the bar the fine-tune must clear; the advantage with its interval against
  its threshold; both sides' cost per useful task. Verdicts are coloured.
- :func:`overview_chart_png`: the quarter at a glance: each workload's advantage against its
  threshold, and its net monthly savings, coloured by verdict.

The sides' colours and the shared panels are the memo chart's (:mod:`tasks.decision.plotting`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tasks.decision import plotting as plot

if TYPE_CHECKING:
    import pandas as pd

VERDICT_COLOURS = {
    "keep": "#2ca02c",
    "watch": "#ff7f0e",
    "retire": "#d62728",
    "inconclusive": "#7f7f7f",
}
MAX_OVERVIEW_WORKLOADS = 30


def _floats(series: pd.Series) -> list[float]:
    return [float("nan") if v is None else float(v) for v in series.astype("float64")]


def history_chart_png(history: pd.DataFrame, *, title: str) -> bytes:
    """Three panels over the decided quarters of one workload (oldest first)."""
    decided = history[history["quarter"].notna()].sort_values("quarter")
    labels = [str(q) for q in decided["quarter"]]
    xs = list(range(len(labels)))
    verdicts = [str(v) for v in decided["verdict"]]
    case = str(decided["case"].iloc[-1]) if len(decided) else "cost_distillation"

    fig = plot.new_figure(8.0, 8.0)
    quality, advantage, cost = fig.subplots(3, 1, sharex=True)

    ft = _floats(decided["fine_tune_quality"])
    buy = _floats(decided["buy_quality"])
    _band(quality, xs, decided, "fine_tune_quality", plot.FINE_TUNE_COLOUR)
    _band(quality, xs, decided, "buy_quality", plot.BUY_COLOUR)
    plot.plot_sides(quality, (xs, ft), (xs, buy), note=" (95% CI)")
    threshold = _floats(decided["advantage_threshold"])
    if case == "cost_distillation":
        bar = [t * b for t, b in zip(threshold, buy, strict=True)]
        bar_label = "bar: threshold x buy quality"
    else:
        bar = [b + t for t, b in zip(threshold, buy, strict=True)]
        bar_label = "bar: buy quality + margin"
    quality.plot(xs, bar, "--", color="0.35", label=bar_label)
    plot.finish_panel(quality, "quality")

    value = _floats(decided["advantage"])
    low = _floats(decided["advantage_low"])
    high = _floats(decided["advantage_high"])
    metric = str(decided["advantage_metric"].iloc[-1]) if len(decided) else "advantage"
    advantage.plot(xs, value, "-", color="0.6", zorder=1)
    for x, v, lo, hi, verdict in zip(xs, value, low, high, verdicts, strict=True):
        colour = VERDICT_COLOURS.get(verdict, "0.3")
        if lo == lo and hi == hi:
            advantage.vlines(x, lo, hi, color=colour, linewidth=2, zorder=2)
        advantage.plot([x], [v], "o", color=colour, zorder=3)
        if v == v:
            advantage.annotate(
                verdict, (x, v), textcoords="offset points", xytext=(6, 4), fontsize=8
            )
    advantage.step(xs, threshold, "--", where="mid", color="0.2", label="threshold")
    plot.finish_panel(advantage, metric)

    ft_cost = _floats(decided["fine_tune_cost_per_useful_task_usd"])
    buy_cost = _floats(decided["buy_cost_per_useful_task_usd"])
    plot.plot_sides(cost, (xs, ft_cost), (xs, buy_cost))
    plot.finish_cost_panel(cost, ft_cost + buy_cost)
    step = max(1, len(xs) // 16)
    cost.set_xticks(xs[::step], labels[::step], rotation=0 if len(xs) <= 8 else 45)
    cost.set_xlabel("quarter")
    if xs:
        cost.set_xlim(-0.4, xs[-1] + 0.6)
    fig.suptitle(title)
    return plot.png_bytes(fig)


def _band(axes: Any, xs: list[int], frame: pd.DataFrame, column: str, colour: str) -> None:
    low = _floats(frame[f"{column}_low"])
    high = _floats(frame[f"{column}_high"])
    axes.fill_between(xs, low, high, color=colour, alpha=0.15, linewidth=0)


def overview_chart_png(report: pd.DataFrame, *, title: str) -> bytes:
    """Advantage over threshold and net savings per workload (the most urgent first)."""
    decided = report[report["verdict"].notna()].head(MAX_OVERVIEW_WORKLOADS)
    names = [str(w) for w in decided["workload"]][::-1]
    ys = list(range(len(names)))
    colours = [VERDICT_COLOURS.get(str(v), "0.3") for v in decided["verdict"]][::-1]

    fig = plot.new_figure(10.0, max(2.6, 0.42 * len(names) + 1.4))
    margin, savings = fig.subplots(1, 2, sharey=True)

    value = _floats(decided["advantage"])[::-1]
    low = _floats(decided["advantage_low"])[::-1]
    high = _floats(decided["advantage_high"])[::-1]
    threshold = _floats(decided["advantage_threshold"])[::-1]
    for y, v, lo, hi, t, colour in zip(ys, value, low, high, threshold, colours, strict=True):
        base = t if t == t else 0.0
        if lo == lo and hi == hi:
            margin.hlines(y, lo - base, hi - base, color=colour, linewidth=2)
        margin.plot([v - base], [y], "o", color=colour)
    margin.axvline(0.0, color="0.2", linestyle="--", linewidth=1)
    margin.set_xlabel("advantage - threshold (95% CI); left of 0: eroded")
    margin.set_yticks(ys, names)
    margin.grid(alpha=0.3, axis="x")

    money = [0.0 if s != s else s for s in _floats(decided["net_monthly_savings_usd"])][::-1]
    savings.barh(ys, money, color=colours)
    savings.axvline(0.0, color="0.2", linewidth=1)
    savings.set_xlabel("net savings of the fine-tune, USD/month")
    savings.grid(alpha=0.3, axis="x")

    from matplotlib.patches import Patch

    handles = [Patch(color=c, label=v) for v, c in VERDICT_COLOURS.items()]
    savings.legend(handles=handles, loc="best", fontsize=8, framealpha=0.9)
    fig.suptitle(title)
    return plot.png_bytes(fig)
