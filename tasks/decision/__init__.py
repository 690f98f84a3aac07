"""The decision core: pure statistics, money, gates, verdict, trend and memo.

No I/O and no imports of prefect, litellm, sqlalchemy, slack_sdk or other project packages.
Randomness arrives as a seed and time as a date. Start with :func:`decide`.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_WHERE: dict[str, str] = {
    "BuyComparison": "tasks.decision.comparison",
    "DAYS_PER_MONTH": "tasks.decision.money",
    "DecisionError": "tasks.decision.errors",
    "DecisionInputs": "tasks.decision.types",
    "DecisionOutcome": "tasks.decision.outcome",
    "ENGINE_VERSION": "tasks.decision.decide",
    "Estimate": "tasks.decision.stats",
    "GateOutcome": "tasks.decision.gates",
    "HistoryPoint": "tasks.decision.types",
    "InvalidInputsError": "tasks.decision.errors",
    "InvalidQuarterError": "tasks.decision.errors",
    "InvalidResultsError": "tasks.decision.errors",
    "Judge": "tasks.decision.types",
    "McNemar": "tasks.decision.stats",
    "MisalignedItemsError": "tasks.decision.errors",
    "MoneySummary": "tasks.decision.money",
    "PairedComparison": "tasks.decision.stats",
    "Quarter": "tasks.decision.quarter",
    "RepeatedTesting": "tasks.decision.repeated",
    "SideResults": "tasks.decision.types",
    "SideSummary": "tasks.decision.sides",
    "Thresholds": "tasks.decision.types",
    "Throughput": "tasks.decision.types",
    "TrendPoint": "tasks.decision.trend",
    "TrendSummary": "tasks.decision.trend",
    "USEFUL_LIFE_QUARTERS": "tasks.decision.trend",
    "VERDICTS": "tasks.decision.types",
    "WorkloadPolicy": "tasks.decision.types",
    "decide": "tasks.decision.decide",
    "next_review_date": "tasks.decision.quarter",
    "outcome_chart_png": "tasks.decision.chart",
    "render_memo": "tasks.decision.memo",
    "trend_chart_png": "tasks.decision.chart",
}
"""Each name above and the module defining it: imported on first use (:func:`__getattr__`),
so importing one module of the package (``tasks.decision.quarter``) loads neither scipy nor
matplotlib."""


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'tasks.decision' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


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
