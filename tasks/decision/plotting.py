"""What every trend chart shares: the sides' colours, an Agg figure, PNG bytes, the panels.

The memo's chart (:mod:`tasks.decision.chart`) and the report's charts
(:mod:`tasks.report.charts`) draw the fine-tune and the buy alternative the same way with
these helpers. matplotlib is imported inside the functions (it is slow to import, and most
decisions need no chart), and figures are drawn on an Agg canvas into bytes in memory, never
through pyplot's global state or a file.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FINE_TUNE_COLOUR = "#1f77b4"
BUY_COLOUR = "#d62728"
LOG_SCALE_SPREAD = 20
"""A cost panel whose largest positive value exceeds this many times its smallest is log-scaled."""


def new_figure(width: float, height: float, *, dpi: int = 100) -> Figure:
    """An empty figure of ``width`` x ``height`` inches on its own Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def plot_sides(
    axes: Any,
    fine_tune: tuple[Sequence[float], Sequence[float]],
    buy: tuple[Sequence[float], Sequence[float]],
    *,
    note: str = "",
) -> None:
    """The fine-tune's ``(xs, ys)`` as blue circles and the buy's as red squares, joined.

    ``note`` follows each legend label (e.g. ``" (95% CI)"``).
    """
    axes.plot(*fine_tune, "o-", color=FINE_TUNE_COLOUR, label=f"fine-tune{note}")
    axes.plot(*buy, "s-", color=BUY_COLOUR, label=f"buy alternative{note}")


def finish_panel(axes: Any, ylabel: str, *, grid: str = "major") -> None:
    """Label the y axis, draw the grid (``major`` or ``both``) and the legend."""
    axes.set_ylabel(ylabel)
    axes.grid(alpha=0.3, which=grid)
    axes.legend(loc="best", fontsize=8, framealpha=0.9)


def finish_cost_panel(axes: Any, costs: Sequence[float]) -> None:
    """Finish a cost-per-useful-task panel; log-scaled when ``costs`` spread widely."""
    positive = [c for c in costs if c > 0]  # NaN and zero left out
    if positive and max(positive) / min(positive) > LOG_SCALE_SPREAD:
        axes.set_yscale("log")
    finish_panel(axes, "USD per useful task", grid="both")
