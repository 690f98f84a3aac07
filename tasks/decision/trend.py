"""The advantage over quarters: a least-squares line, and when it is projected to erode.

The advantage is the quality ratio (cost case, bar ``quality_ratio_min``) or the paired
difference (domain case, bar ``domain_margin_min``). Points are the past quarters in the history
that recorded an advantage, plus this quarter; a re-run of this quarter replaces its old
point. With fewer than ``MIN_TREND_POINTS`` points the trend is reported but cannot act.

The projection extends the fitted line: the erosion quarter is the first quarter at or after
this one in which the line is at or below the bar. The frame expects most production
fine-tunes to be overtaken 4 to 8 quarters into their life; the fine-tune's age is placed
against that window.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from tasks.decision.quarter import Quarter
from tasks.decision.types import HistoryPoint

USEFUL_LIFE_QUARTERS = (4, 8)
"""The frame's typical useful life of a production fine-tune, in quarters."""

LifeStage = Literal["unknown", "early", "expected_window", "past_expected"]


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One quarter's advantage."""

    quarter: str
    advantage: float


@dataclass(frozen=True, slots=True)
class TrendSummary:
    """Slope, projection and age; ``within_horizon`` is what the verdict acts on."""

    metric: str
    threshold: float
    points: tuple[TrendPoint, ...]
    slope_per_quarter: float | None
    """None with fewer than ``min_points`` points."""
    fitted_now: float | None
    projected_erosion_quarter: str | None
    """None when the line is flat or rising, or there is no line."""
    quarters_to_erosion: int | None
    min_points: int
    horizon_quarters: int
    within_horizon: bool
    quarters_since_adoption: int | None
    life_stage: LifeStage


def life_stage(quarters_since_adoption: int | None) -> LifeStage:
    """Where an age falls against the frame's 4-8 quarter useful life."""
    if quarters_since_adoption is None:
        return "unknown"
    low, high = USEFUL_LIFE_QUARTERS
    if quarters_since_adoption < low:
        return "early"
    return "expected_window" if quarters_since_adoption <= high else "past_expected"


def advantage_trend(
    history: Sequence[HistoryPoint],
    *,
    current_quarter: Quarter,
    current_advantage: float | None,
    metric: str,
    threshold: float,
    horizon_quarters: int,
    min_points: int,
    adopted_quarter: Quarter | None,
) -> TrendSummary:
    """Fit the advantage per quarter and project when it reaches ``threshold``."""
    pairs: list[tuple[Quarter, float]] = []
    for point in history:
        quarter = Quarter.parse(point.quarter)
        if quarter < current_quarter and _usable(point.advantage):
            assert point.advantage is not None
            pairs.append((quarter, point.advantage))
    if _usable(current_advantage):
        assert current_advantage is not None
        pairs.append((current_quarter, current_advantage))
    pairs.sort()
    points = tuple(TrendPoint(str(q), a) for q, a in pairs)
    age = None if adopted_quarter is None else current_quarter - adopted_quarter
    slope = fitted = None
    projected: str | None = None
    ahead: int | None = None
    if len(pairs) >= min_points:
        x = np.array([q - current_quarter for q, _ in pairs], dtype=np.float64)
        y = np.array([a for _, a in pairs], dtype=np.float64)
        x_mean, y_mean = x.mean(), y.mean()
        slope = float(((x - x_mean) * (y - y_mean)).sum() / ((x - x_mean) ** 2).sum())
        fitted = float(y_mean - slope * x_mean)  # the line at this quarter (x = 0)
        if fitted <= threshold:
            ahead = 0
        elif slope < 0:
            # rounded first so that 1.0000000000000002 quarters is 1, not 2
            ahead = math.ceil(round((threshold - fitted) / slope, 9))
        if ahead is not None:
            projected = str(current_quarter + ahead)
    return TrendSummary(
        metric=metric,
        threshold=threshold,
        points=points,
        slope_per_quarter=slope,
        fitted_now=fitted,
        projected_erosion_quarter=projected,
        quarters_to_erosion=ahead,
        min_points=min_points,
        horizon_quarters=horizon_quarters,
        within_horizon=ahead is not None and ahead <= horizon_quarters,
        quarters_since_adoption=age,
        life_stage=life_stage(age),
    )


def _usable(value: float | None) -> bool:
    return value is not None and math.isfinite(value)
