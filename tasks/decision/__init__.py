"""The decision core: pure statistics, money, gates, verdict, trend and memo.

No I/O and no imports of prefect, litellm, sqlalchemy, slack_sdk or other project packages.
Randomness arrives as a seed and time as a date. Start with :func:`decide`.
"""

from tasks.decision.chart import outcome_chart_png, trend_chart_png
from tasks.decision.comparison import BuyComparison
from tasks.decision.decide import ENGINE_VERSION, decide
from tasks.decision.errors import (
    DecisionError,
    InvalidInputsError,
    InvalidQuarterError,
    InvalidResultsError,
    MisalignedItemsError,
)
from tasks.decision.gates import GateOutcome
from tasks.decision.memo import render_memo
from tasks.decision.money import DAYS_PER_MONTH, MoneySummary
from tasks.decision.outcome import DecisionOutcome
from tasks.decision.quarter import Quarter, next_review_date
from tasks.decision.repeated import RepeatedTesting
from tasks.decision.sides import SideSummary
from tasks.decision.stats import Estimate, McNemar, PairedComparison
from tasks.decision.trend import USEFUL_LIFE_QUARTERS, TrendPoint, TrendSummary
from tasks.decision.types import (
    VERDICTS,
    DecisionInputs,
    HistoryPoint,
    Judge,
    SideResults,
    Thresholds,
    Throughput,
    WorkloadPolicy,
)

__all__ = [
    "DAYS_PER_MONTH",
    "ENGINE_VERSION",
    "USEFUL_LIFE_QUARTERS",
    "VERDICTS",
    "BuyComparison",
    "DecisionError",
    "DecisionInputs",
    "DecisionOutcome",
    "Estimate",
    "GateOutcome",
    "HistoryPoint",
    "InvalidInputsError",
    "InvalidQuarterError",
    "InvalidResultsError",
    "Judge",
    "McNemar",
    "MisalignedItemsError",
    "MoneySummary",
    "PairedComparison",
    "Quarter",
    "RepeatedTesting",
    "SideResults",
    "SideSummary",
    "Thresholds",
    "Throughput",
    "TrendPoint",
    "TrendSummary",
    "WorkloadPolicy",
    "decide",
    "next_review_date",
    "outcome_chart_png",
    "render_memo",
    "trend_chart_png",
]
