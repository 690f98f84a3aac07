"""One reading of the evidence: gates, the comparison buy, trend and verdict.

:func:`~tasks.decision.decide.decide` reads a quarter more than once when a buy alternative
is flaky (its errored items bounded as all failed, then all passed); each reading is an
:class:`Assessment`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tasks.decision.comparison import BuyComparison, compare_all, correction_text
from tasks.decision.drift import drift_gate
from tasks.decision.gates import (
    GateOutcome,
    domain_stability_gate,
    task_stability_gate,
    training_examples_gate,
    volume_gate,
)
from tasks.decision.measured_gates import advantage_gate, net_savings_gate
from tasks.decision.measured_volume import measured_volume_gate
from tasks.decision.money import MoneySummary, money_summary
from tasks.decision.quarter import Quarter
from tasks.decision.stats import Estimate
from tasks.decision.trend import TrendSummary, advantage_trend
from tasks.decision.types import (
    MAX_INTERVAL_WIDTH,
    MIN_TREND_POINTS,
    DecisionInputs,
    FloatArray,
    SideResults,
)
from tasks.decision.verdict import VerdictResult, apply_rules

Bounds = tuple[FloatArray, FloatArray]
"""Per-item score bounds (low, high): errored items read as failed, then as passed."""


@dataclass(frozen=True, slots=True)
class Assessment:
    """Gates, comparisons and verdict for one reading of the buys' errored items."""

    comparisons: tuple[BuyComparison, ...]
    chosen: int
    """The buy the memo names (see :func:`comparison_buy`)."""
    moneys: tuple[MoneySummary, ...]
    gates: tuple[GateOutcome, ...]
    advantage: Estimate
    trend: TrendSummary
    result: VerdictResult


def assess(
    inputs: DecisionInputs,
    fine_tune: SideResults,
    buys: list[SideResults],
    ft_bounds: Bounds,
    buy_bounds: list[Bounds],
    preconditions: list[GateOutcome],
    flaky: list[int],
) -> Assessment:
    """Gates, comparison buy, trend and verdict for one reading of the buys' errored items."""
    policy = inputs.policy
    limits = policy.thresholds
    cost_case = policy.case == "cost_distillation"
    bar = limits.quality_ratio_min if cost_case else limits.domain_margin_min
    comparisons = compare_all(
        ft_bounds,
        [(b.name, lo, hi) for b, (lo, hi) in zip(buys, buy_bounds, strict=True)],
        measure="ratio" if cost_case else "difference",
        bar=bar,
        alpha=limits.significance_alpha,
        level=None if inputs.look is None else inputs.look.holding,
    )
    moneys = tuple(
        money_summary(
            fine_tune,
            b,
            volume_per_day=policy.volume_per_day,
            fixed_costs_monthly_usd=policy.fixed_costs_monthly_usd,
        )
        for b in buys
    )
    quality = advantage_gate(
        comparisons,
        measure="ratio" if cost_case else "difference",
        bar=bar,
        alpha=limits.significance_alpha,
        correction=correction_text(len(buys)),
        erosion_level=None if inputs.look is None else inputs.look.erosion,
    )
    gates = [*preconditions]
    if cost_case:
        savings = net_savings_gate(moneys, comparisons)
        gates += [*_cost_gates(inputs), quality, savings]
    else:
        savings = None
        gates += [quality, *_domain_gates(inputs)]
    if inputs.drift is not None:
        gates.append(drift_gate(inputs.drift))
    chosen = comparison_buy(comparisons, moneys, quality, savings, flaky)
    advantage = comparisons[chosen].ratio if cost_case else comparisons[chosen].difference
    trend = _trend(inputs, advantage, bar=bar)
    result = apply_rules(
        gates,
        advantage=advantage,
        advantage_gate=quality.name,
        max_interval_width=MAX_INTERVAL_WIDTH,
        trend=trend,
    )
    return Assessment(comparisons, chosen, moneys, tuple(gates), advantage, trend, result)


def comparison_buy(
    comparisons: tuple[BuyComparison, ...],
    moneys: tuple[MoneySummary, ...],
    quality: GateOutcome,
    savings: GateOutcome | None,
    flaky: list[int],
) -> int:
    """The buy the memo names: the one that eroded the fine-tune, else the one it saves
    least against when that fails, else its strongest challenger (smallest erosion p-value,
    buys within the error limit first)."""
    order = range(len(comparisons))
    if quality.status == "fail":
        return min(order, key=lambda i: (comparisons[i].p_adjusted, comparisons[i].p_eroded, i))
    if savings is not None and savings.status == "fail":
        return min(
            (
                i
                for i in order
                if not comparisons[i].beats and _known(moneys[i].net_monthly_savings_usd)
            ),
            key=lambda i: (moneys[i].net_monthly_savings_usd or 0.0, i),
        )
    pool = [i for i in order if i not in flaky] or list(order)
    return min(pool, key=lambda i: (comparisons[i].p_eroded, i))


def _trend(inputs: DecisionInputs, advantage: Estimate, *, bar: float) -> TrendSummary:
    policy = inputs.policy
    cost_case = policy.case == "cost_distillation"
    return advantage_trend(
        inputs.history,
        current_quarter=Quarter.parse(inputs.quarter),
        current_advantage=advantage.value,
        metric="quality ratio" if cost_case else "quality difference",
        threshold=bar,
        horizon_quarters=policy.thresholds.warning_horizon_quarters,
        min_points=MIN_TREND_POINTS,
        adopted_quarter=(Quarter.parse(policy.adopted_quarter) if policy.adopted_quarter else None),
    )


def _known(x: float | None) -> bool:
    return x is not None and not math.isnan(x)


def _cost_gates(inputs: DecisionInputs) -> list[GateOutcome]:
    limits = inputs.policy.thresholds
    return [
        volume_gate(inputs.policy.volume_per_day, min_volume=limits.min_volume_per_day)
        if inputs.volume is None
        else measured_volume_gate(inputs.volume, min_volume=limits.min_volume_per_day),
        task_stability_gate(inputs.policy.task_stable, task_changed=inputs.task_changed),
    ]


def _domain_gates(inputs: DecisionInputs) -> list[GateOutcome]:
    limits = inputs.policy.thresholds
    return [
        training_examples_gate(
            inputs.policy.training_examples, minimum=limits.min_training_examples
        ),
        domain_stability_gate(inputs.policy.domain_stable),
    ]
