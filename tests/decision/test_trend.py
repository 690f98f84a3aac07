import pytest

from tasks.decision.quarter import Quarter
from tasks.decision.trend import TrendSummary, advantage_trend, life_stage
from tasks.decision.types import HistoryPoint


def _trend(history: list[HistoryPoint], current: float | None) -> TrendSummary:
    return advantage_trend(
        history,
        current_quarter=Quarter.parse("2026Q3"),
        current_advantage=current,
        metric="quality ratio",
        threshold=0.95,
        horizon_quarters=2,
        min_points=3,
        adopted_quarter=Quarter.parse("2025Q1"),
    )


def test_worked_example_projects_erosion_next_quarter() -> None:
    # x = -2, -1, 0 (quarters relative to 2026Q3), y = 1.10, 1.05, 1.00:
    # slope = sum((x+1)(y-1.05)) / sum((x+1)^2) = (-1*0.05 + 1*-0.05) / 2 = -0.05,
    # line at x=0: 1.05 - (-0.05)(-1) = 1.00; reaches 0.95 after (0.95-1.00)/-0.05 = 1 quarter
    t = _trend([HistoryPoint("2026Q1", 1.10), HistoryPoint("2026Q2", 1.05)], 1.00)
    assert t.slope_per_quarter == pytest.approx(-0.05)
    assert t.fitted_now == pytest.approx(1.00)
    assert t.quarters_to_erosion == 1
    assert t.projected_erosion_quarter == "2026Q4"
    assert t.within_horizon
    assert t.quarters_since_adoption == 6 and t.life_stage == "expected_window"


def test_slow_erosion_beyond_the_horizon_is_reported_not_acted_on() -> None:
    # slope -0.01 from 1.10: (0.95 - 1.10) / -0.01 = 15 quarters
    history = [HistoryPoint("2026Q1", 1.12), HistoryPoint("2026Q2", 1.11)]
    t = _trend(history, 1.10)
    assert t.quarters_to_erosion == 15 and not t.within_horizon


def test_rising_advantage_projects_no_erosion() -> None:
    t = _trend([HistoryPoint("2026Q1", 1.0), HistoryPoint("2026Q2", 1.05)], 1.10)
    assert t.slope_per_quarter == pytest.approx(0.05)
    assert t.projected_erosion_quarter is None and not t.within_horizon


def test_too_few_points_cannot_act() -> None:
    t = _trend([HistoryPoint("2026Q2", 1.20)], 0.96)
    assert t.slope_per_quarter is None and not t.within_horizon
    assert len(t.points) == 2


def test_current_quarter_in_history_is_replaced_and_missing_advantages_skipped() -> None:
    history = [
        HistoryPoint("2026Q3", 0.50),  # an earlier run of this quarter: superseded
        HistoryPoint("2026Q2", None),
        HistoryPoint("2026Q1", 1.0),
        HistoryPoint("2025Q4", 1.0),
    ]
    t = _trend(history, 1.0)
    assert [p.quarter for p in t.points] == ["2025Q4", "2026Q1", "2026Q3"]
    assert t.slope_per_quarter == pytest.approx(0.0)


def test_gaps_between_quarters_are_measured_in_quarters() -> None:
    # 2025Q3 -> 2026Q3 is 4 quarters: points (-4, 1.2), (-2, 1.1), (0, 1.0): slope -0.05
    history = [HistoryPoint("2025Q3", 1.2), HistoryPoint("2026Q1", 1.1)]
    assert _trend(history, 1.0).slope_per_quarter == pytest.approx(-0.05)


@pytest.mark.parametrize(
    ("age", "stage"),
    [
        (None, "unknown"),
        (0, "early"),
        (3, "early"),
        (4, "expected_window"),
        (8, "expected_window"),
        (9, "past_expected"),
    ],
)
def test_frame_useful_life_4_to_8_quarters(age: int | None, stage: str) -> None:
    assert life_stage(age) == stage
