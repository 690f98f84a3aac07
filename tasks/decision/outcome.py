"""What the decision engine returns, and its JSON form for the registry."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Any

from pydantic import BaseModel

from tasks.decision.comparison import BuyComparison
from tasks.decision.drift import DriftReport
from tasks.decision.gates import GateOutcome
from tasks.decision.measured_volume import MeasuredVolume
from tasks.decision.money import MoneySummary
from tasks.decision.repeated import RepeatedTesting
from tasks.decision.sequential import SequentialUse
from tasks.decision.sides import SideSummary
from tasks.decision.stats import McNemar, PairedComparison
from tasks.decision.trend import TrendSummary
from tasks.decision.types import Case, HistoryPoint, Thresholds, Verdict


@dataclass(frozen=True)
class DecisionOutcome:
    """One workload's decision for one quarter: verdict, evidence, and how to reproduce it.

    ``metrics()``, ``gates_json()``, ``trend_json()`` and ``to_json()`` give plain
    JSON-able dicts (NaN and infinity become None) for the registry's JSON columns;
    ``memo`` is the markdown memo, rendered on first access.
    """

    workload: str
    case: Case
    quarter: str
    decided_on: date
    verdict: Verdict
    rule: int
    """The numbered rule in ``verdict.py`` that decided."""
    reasons: tuple[str, ...]
    fine_tune: SideSummary
    buy: SideSummary
    """The buy alternative compared: the one that eroded the fine-tune (or that it saves
    least against, when that fails), else its strongest challenger. See ``decide.py``."""
    buys: tuple[SideSummary, ...]
    comparison: PairedComparison
    """The fine-tune against ``buy``."""
    comparisons: tuple[BuyComparison, ...]
    """The fine-tune against every buy, in the order of ``buys``, with Holm's p-values."""
    mcnemar: McNemar
    minimum_detectable_difference: float
    money: MoneySummary
    gates: tuple[GateOutcome, ...]
    trend: TrendSummary
    history: tuple[HistoryPoint, ...]
    """Past quarters as given, oldest first (this quarter excluded)."""
    thresholds: Thresholds
    repeated: RepeatedTesting
    """The chance of a wrong retire over the fine-tune's expected life under this rule."""
    reproducibility: Mapping[str, Any]
    recommended_action: str
    notice_kind: str | None
    """``'retire'``, ``'watch'``, ``'inconclusive'`` or None (keep: no notice)."""
    volume: MeasuredVolume | None = None
    """The volume as read from its source; None: typed in the workloads file."""
    drift: DriftReport | None = None
    """The production sample's comparison with the eval set; None: no sample."""
    sequential: SequentialUse | None = None
    """What sequential evaluation used (waves, items per side, spend saved); None: the
    decision was taken on the whole eval set without interim looks."""

    @property
    def best_buy_name(self) -> str:
        """Name of the buy alternative the fine-tune was judged against."""
        return self.buy.name

    @property
    def advantage(self) -> float:
        """This quarter's advantage: the quality ratio (cost case) or difference (domain)."""
        estimate = (
            self.comparison.ratio
            if self.case == "cost_distillation"
            else self.comparison.difference
        )
        return estimate.value

    def metrics(self) -> dict[str, Any]:
        """The numbers behind the verdict, JSON-able."""
        out: dict[str, Any] = jsonable(
            {
                "n_items": self.fine_tune.n_items,
                "fine_tune": self.fine_tune,
                "buy": self.buy,
                "ratio": self.comparison.ratio,
                "difference": self.comparison.difference,
                "compared_buy": self.comparison.buy,
                "correction": self.comparison.correction,
                "comparisons": self.comparisons,
                "repeated_testing": self.repeated,
                "mcnemar": self.mcnemar,
                "minimum_detectable_difference": self.minimum_detectable_difference,
                "money": self.money,
                "error_rates": {
                    "fine_tune": self.fine_tune.error_rate,
                    "buy": self.buy.error_rate,
                },
            }
        )
        if self.sequential is not None:
            out["sequential"] = jsonable(self.sequential.to_json())
        return out

    def gates_json(self) -> list[dict[str, Any]]:
        """Every gate with status and evidence, JSON-able."""
        return [jsonable(g) for g in self.gates]

    def trend_json(self) -> dict[str, Any]:
        """Slope, projection and age, JSON-able."""
        out: dict[str, Any] = jsonable(self.trend)
        return out

    def buys_json(self) -> list[dict[str, Any]]:
        """Every buy alternative's summary, JSON-able."""
        return [jsonable(b) for b in self.buys]

    def to_json(self) -> dict[str, Any]:
        """The whole outcome except the memo, JSON-able."""
        return {
            "workload": self.workload,
            "case": self.case,
            "quarter": self.quarter,
            "decided_on": self.decided_on.isoformat(),
            "verdict": self.verdict,
            "rule": self.rule,
            "reasons": list(self.reasons),
            "best_buy": self.best_buy_name,
            "buys": self.buys_json(),
            "metrics": self.metrics(),
            "gates": self.gates_json(),
            "trend": self.trend_json(),
            "thresholds": jsonable(self.thresholds),
            "reproducibility": jsonable(self.reproducibility),
            "recommended_action": self.recommended_action,
            "notice_kind": self.notice_kind,
        }

    def history_point(self) -> HistoryPoint:
        """This decision as next quarter's history sees it."""
        return HistoryPoint(
            quarter=self.quarter,
            advantage=_finite(self.advantage),
            verdict=self.verdict,
            fine_tune_quality=self.fine_tune.quality.value,
            buy_quality=self.buy.quality.value,
            fine_tune_cost_per_useful_task=self.fine_tune.cost_per_useful_task_usd,
            buy_cost_per_useful_task=self.buy.cost_per_useful_task_usd,
            buy_name=self.buy.name,
        )

    @cached_property
    def memo(self) -> str:
        """The markdown decision memo, with the chart referenced as ``trend.png``."""
        from tasks.decision.memo import render_memo

        text: str = render_memo(self)
        return text


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def jsonable(value: Any) -> Any:
    """Dataclasses, pydantic models, mappings and sequences as plain JSON values; NaN and inf
    become None."""
    if isinstance(value, BaseModel):  # the workload's thresholds (vocabulary)
        return jsonable(value.model_dump(mode="python"))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "item"):  # numpy scalars
        return jsonable(value.item())
    return value
