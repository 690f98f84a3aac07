"""PNG charts for reports (matplotlib's Agg canvas, no pyplot state). Rows in, bytes out.

- :func:`history_chart_png`: one workload over the quarters: both sides' quality with their
  intervals and the bar the fine-tune must clear; the advantage with its interval against
  its threshold; both sides' cost per useful task. Verdicts are coloured.
- :func:`overview_chart_png`: the quarter at a glance: each workload's advantage against its
  threshold, and its net monthly savings, coloured by verdict.

The sides' colours and the shared panels are the memo chart's (:mod:`tasks.decision.plotting`).
Both take the plain rows of :mod:`tasks.report.rows` and never import pandas: ``history W
--plot`` pays only matplotlib's import (and numpy's, under it).
"""

from __future__ import annotations

import functools
import gc
import io
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec

from tasks.decision import plotting as plot
from tasks.report.rows import Row

VERDICT_COLOURS = {
    "keep": "#2ca02c",
    "watch": "#ff7f0e",
    "retire": "#d62728",
    "inconclusive": "#7f7f7f",
}
MAX_OVERVIEW_WORKLOADS = 30


P = ParamSpec("P")


def _collector_paused(draw: Callable[P, bytes]) -> Callable[P, bytes]:
    """Run ``draw`` with Python's cyclic garbage collector paused (as it was after).

    Importing matplotlib and drawing a figure allocate hundreds of thousands of objects, so
    the collector would run dozens of times, each time walking the modules already imported:
    about a tenth of ``history --plot``. The figure's own cycles are collected afterwards.
    """

    @functools.wraps(draw)
    def paused(*args: P.args, **kwargs: P.kwargs) -> bytes:
        enabled = gc.isenabled()
        gc.disable()
        try:
            return draw(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()

    return paused


def _floats(rows: Sequence[Row], column: str) -> list[float]:
    """``column`` of each row as a float, NaN where it is missing."""
    return [float("nan") if r[column] is None else float(r[column]) for r in rows]


@_collector_paused
def history_chart_png(history: Sequence[Row], *, title: str) -> bytes:
    """Three panels over the decided quarters of one workload's rows (oldest first)."""
    decided = sorted((r for r in history if r["quarter"] is not None), key=_quarter)
    labels = [str(r["quarter"]) for r in decided]
    xs = list(range(len(labels)))
    verdicts = [str(r["verdict"]) for r in decided]
    case = str(decided[-1]["case"]) if decided else "cost_distillation"

    fig = plot.new_figure(8.0, 8.0)
    quality, advantage, cost = fig.subplots(3, 1, sharex=True)

    ft = _floats(decided, "fine_tune_quality")
    buy = _floats(decided, "buy_quality")
    _band(quality, xs, decided, "fine_tune_quality", plot.FINE_TUNE_COLOUR)
    _band(quality, xs, decided, "buy_quality", plot.BUY_COLOUR)
    plot.plot_sides(quality, (xs, ft), (xs, buy), note=" (95% CI)")
    threshold = _floats(decided, "advantage_threshold")
    if case == "cost_distillation":
        bar = [t * b for t, b in zip(threshold, buy, strict=True)]
        bar_label = "bar: threshold x buy quality"
    else:
        bar = [b + t for t, b in zip(threshold, buy, strict=True)]
        bar_label = "bar: buy quality + margin"
    quality.plot(xs, bar, "--", color="0.35", label=bar_label)
    plot.finish_panel(quality, "quality")

    value = _floats(decided, "advantage")
    low = _floats(decided, "advantage_low")
    high = _floats(decided, "advantage_high")
    metric = str(decided[-1]["advantage_metric"]) if decided else "advantage"
    advantage.plot(xs, value, "-", color="0.6", zorder=1)
    _verdict_points(advantage, xs, value, low, high, verdicts)
    advantage.step(xs, threshold, "--", where="mid", color="0.2", label="threshold")
    plot.finish_panel(advantage, metric)

    ft_cost = _floats(decided, "fine_tune_cost_per_useful_task_usd")
    buy_cost = _floats(decided, "buy_cost_per_useful_task_usd")
    plot.plot_sides(cost, (xs, ft_cost), (xs, buy_cost))
    plot.finish_cost_panel(cost, ft_cost + buy_cost)
    step = max(1, len(xs) // 16)
    cost.set_xticks(xs[::step], labels[::step], rotation=0 if len(xs) <= 8 else 45)
    cost.set_xlabel("quarter")
    if xs:
        cost.set_xlim(-0.4, xs[-1] + 0.6)
    fig.suptitle(title)
    return _laid_out_png(fig)


def _laid_out_png(fig: Any) -> bytes:
    """``plot.png_bytes(fig)`` with one pass over the artists less: the same bytes.

    ``fig.savefig`` first draws a figure that has a layout engine without rendering (the
    engine runs on that pass), then draws it again to render. The canvas's own ``print_png``
    draws once, running the engine at the start of that draw: on a long history (its ticks,
    labels and legends) that leaves out about a third of the drawing.
    """
    buffer = io.BytesIO()
    fig.canvas.print_png(buffer)
    return buffer.getvalue()


def _verdict_points(
    axes: Any,
    xs: list[int],
    value: list[float],
    low: list[float],
    high: list[float],
    verdicts: list[str],
) -> None:
    """Each quarter's advantage as a dot with its interval, coloured and named by verdict.

    One line and one set of intervals per colour (not per quarter): matplotlib's time grows
    with the number of artists, and the pixels are the same.
    """
    points: dict[str, tuple[list[int], list[float]]] = {}
    bars: dict[str, tuple[list[int], list[float], list[float]]] = {}
    for x, v, lo, hi, verdict in zip(xs, value, low, high, verdicts, strict=True):
        colour = VERDICT_COLOURS.get(verdict, "0.3")
        if lo == lo and hi == hi:
            bar = bars.setdefault(colour, ([], [], []))
            bar[0].append(x)
            bar[1].append(lo)
            bar[2].append(hi)
        point = points.setdefault(colour, ([], []))
        point[0].append(x)
        point[1].append(v)
        if v == v:
            _label(axes, x, v, verdict)
    for colour, (bx, lows, highs) in bars.items():
        axes.vlines(bx, lows, highs, color=colour, linewidth=2, zorder=2)
    for colour, (px, vs) in points.items():
        axes.plot(px, vs, "o", color=colour, zorder=3)


def _label(axes: Any, x: float, y: float, text: str) -> None:
    """``text`` 6 points right of and 4 above the data point ``(x, y)``, unclipped.

    ``axes.annotate(text, (x, y), textcoords="offset points", xytext=(6, 4))`` draws the same
    pixels, but checks on every layout and draw pass whether the point lies in the axes.
    """
    from matplotlib.transforms import Affine2D, ScaledTranslation

    points = Affine2D().scale(axes.get_figure(root=True).dpi / 72)
    transform = points + ScaledTranslation(x, y, axes.transData)
    axes.text(6, 4, text, transform=transform, fontsize=8, clip_on=False)


def _quarter(row: Row) -> str:
    return str(row["quarter"])


def _band(axes: Any, xs: list[int], rows: Sequence[Row], column: str, colour: str) -> None:
    low = _floats(rows, f"{column}_low")
    high = _floats(rows, f"{column}_high")
    axes.fill_between(xs, low, high, color=colour, alpha=0.15, linewidth=0)


@_collector_paused
def overview_chart_png(report: Sequence[Row], *, title: str) -> bytes:
    """Advantage over threshold and net savings per workload (the most urgent first)."""
    decided = [r for r in report if r["verdict"] is not None][:MAX_OVERVIEW_WORKLOADS]
    names = [str(r["workload"]) for r in decided][::-1]
    ys = list(range(len(names)))
    colours = [VERDICT_COLOURS.get(str(r["verdict"]), "0.3") for r in decided][::-1]

    fig = plot.new_figure(10.0, max(2.6, 0.42 * len(names) + 1.4))
    margin, savings = fig.subplots(1, 2, sharey=True)

    value = _floats(decided, "advantage")[::-1]
    low = _floats(decided, "advantage_low")[::-1]
    high = _floats(decided, "advantage_high")[::-1]
    threshold = _floats(decided, "advantage_threshold")[::-1]
    for y, v, lo, hi, t, colour in zip(ys, value, low, high, threshold, colours, strict=True):
        base = t if t == t else 0.0
        if lo == lo and hi == hi:
            margin.hlines(y, lo - base, hi - base, color=colour, linewidth=2)
        margin.plot([v - base], [y], "o", color=colour)
    margin.axvline(0.0, color="0.2", linestyle="--", linewidth=1)
    margin.set_xlabel("advantage - threshold (95% CI); left of 0: eroded")
    margin.set_yticks(ys, names)
    margin.grid(alpha=0.3, axis="x")

    money = [0.0 if s != s else s for s in _floats(decided, "net_monthly_savings_usd")][::-1]
    savings.barh(ys, money, color=colours)
    savings.axvline(0.0, color="0.2", linewidth=1)
    savings.set_xlabel("net savings of the fine-tune, USD/month")
    savings.grid(alpha=0.3, axis="x")

    from matplotlib.patches import Patch

    handles = [Patch(color=c, label=v) for v, c in VERDICT_COLOURS.items()]
    savings.legend(handles=handles, loc="best", fontsize=8, framealpha=0.9)
    fig.suptitle(title)
    return plot.png_bytes(fig)
