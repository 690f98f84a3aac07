"""The one entry point: :func:`decide` composes statistics, money, gates, trend and verdict."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from tasks.decision.comparison import BuyComparison, compare_all, correction_text
from tasks.decision.errors import InvalidInputsError
from tasks.decision.gates import (
    GateOutcome,
    advantage_gate,
    domain_stability_gate,
    error_rate_gate,
    eval_items_gate,
    flaky_buy_gate,
    net_savings_gate,
    task_stability_gate,
    training_examples_gate,
    volume_gate,
)
from tasks.decision.money import DAYS_PER_MONTH, MoneySummary, money_summary
from tasks.decision.outcome import DecisionOutcome
from tasks.decision.quarter import Quarter, next_review_date
from tasks.decision.repeated import repeated_testing
from tasks.decision.sides import SideSummary, align, score_bounds, summarize
from tasks.decision.stats import (
    Estimate,
    PairedComparison,
    mcnemar_exact,
    minimum_detectable_difference,
)
from tasks.decision.trend import TrendSummary, advantage_trend
from tasks.decision.types import (
    MAX_INTERVAL_WIDTH,
    MIN_TREND_POINTS,
    DecisionInputs,
    FloatArray,
    SideResults,
)
from tasks.decision.verdict import VerdictResult, apply_rules, notice_kind, recommended_action

ENGINE_VERSION = "2"
"""Bumped whenever a rule or a statistic changes, so old decisions can be told apart.
2: score tests with Holm's correction over every buy, flaky buys bounded, answered-call costs."""

Bounds = tuple[FloatArray, FloatArray]


@dataclass(frozen=True, slots=True)
class _Assessment:
    comparisons: tuple[BuyComparison, ...]
    chosen: int
    moneys: tuple[MoneySummary, ...]
    gates: tuple[GateOutcome, ...]
    advantage: Estimate
    trend: TrendSummary
    result: VerdictResult


def decide(inputs: DecisionInputs, *, rng_seed: int, today: date) -> DecisionOutcome:
    """Decide one workload's quarter: keep, watch, retire or inconclusive, with the evidence.

    Args:
        inputs: the workload's policy, this quarter's results of the fine-tune and of every
            buy alternative (same eval items), and the past decisions.
        rng_seed: recorded in the reproducibility block. Engine version 2's statistics are
            deterministic (score tests, no resampling), so the outcome does not depend on it.
        today: the date the decision is taken (for the memo and the next review date).

    Raises:
        DecisionError: the inputs are malformed (misaligned items, bad quarter, ...). Weak
            evidence never raises: it gives ``inconclusive``.
    """
    if not isinstance(rng_seed, int) or rng_seed < 0:
        raise InvalidInputsError(field="rng_seed", value=rng_seed, expected="an int >= 0")
    policy = inputs.policy
    limits = policy.thresholds
    quarter = Quarter.parse(inputs.quarter)
    fine_tune = inputs.fine_tune
    buys = []
    for side in inputs.buys:
        if side.role != "buy":
            raise InvalidInputsError(
                field=f"buys[{side.name}].role", value=side.role, expected="'buy'"
            )
        buys.append(align(fine_tune, side))
    ft_summary = summarize(fine_tune, alpha=limits.significance_alpha)
    buy_summaries = tuple(summarize(b, alpha=limits.significance_alpha) for b in buys)
    flaky = [i for i, s in enumerate(buy_summaries) if s.error_rate > limits.max_error_rate]
    bounds = [score_bounds(b) for b in buys]
    ft_bounds = score_bounds(fine_tune)
    steady_gates = [
        eval_items_gate(fine_tune.n_items, min_items=limits.min_items),
        error_rate_gate(ft_summary, max_error_rate=limits.max_error_rate),
        *(
            error_rate_gate(s, max_error_rate=limits.max_error_rate)
            for i, s in enumerate(buy_summaries)
            if i not in flaky
        ),
    ]

    def assess(buy_bounds: list[Bounds], extra: list[GateOutcome]) -> _Assessment:
        return _assess(
            inputs, fine_tune, buys, ft_bounds, buy_bounds, [*steady_gates, *extra], flaky
        )

    open_assessment = assess(bounds, [])
    flaky_gates = []
    for j in flaky:
        verdicts = []
        for fill in (0.0, 1.0):
            filled = np.where(buys[j].errored, fill, buys[j].scores)
            verdicts.append(assess([*bounds[:j], (filled, filled), *bounds[j + 1 :]], []))
        failed, passed = (a.result.verdict for a in verdicts)
        flaky_gates.append(
            flaky_buy_gate(
                buy_summaries[j],
                max_error_rate=limits.max_error_rate,
                verdict_if_failed=failed,
                verdict_if_passed=passed,
                bounded=open_assessment.result.verdict,
            )
        )
    final = assess(bounds, flaky_gates) if flaky_gates else open_assessment
    chosen = final.chosen
    buy = buys[chosen]
    comparison = final.comparisons[chosen]
    mcnemar = mcnemar_exact(fine_tune.passed, buy.passed)
    mdd = minimum_detectable_difference(
        ft_bounds[0] - bounds[chosen][0], alpha=limits.significance_alpha
    )
    money = final.moneys[chosen]
    review = next_review_date(quarter, today)
    action = recommended_action(
        final.result.verdict,
        rule=final.result.rule,
        fine_tune=fine_tune.name,
        buy=buy.name,
        buy_route=buy.route,
        next_review=review.isoformat(),
        savings_usd=money.net_monthly_savings_usd,
    )
    history = tuple(
        sorted(
            (p for p in inputs.history if Quarter.parse(p.quarter) != quarter),
            key=lambda p: Quarter.parse(p.quarter),
        )
    )
    return DecisionOutcome(
        workload=policy.name,
        case=policy.case,
        quarter=str(quarter),
        decided_on=today,
        verdict=final.result.verdict,
        rule=final.result.rule,
        reasons=final.result.reasons,
        fine_tune=ft_summary,
        buy=buy_summaries[chosen],
        buys=buy_summaries,
        comparison=PairedComparison(
            ratio=comparison.ratio,
            difference=comparison.difference,
            buy=buy.name,
            correction=correction_text(len(buys)),
        ),
        comparisons=final.comparisons,
        mcnemar=mcnemar,
        minimum_detectable_difference=mdd,
        money=money,
        gates=final.gates,
        trend=final.trend,
        history=history,
        thresholds=limits,
        repeated=repeated_testing(limits.significance_alpha),
        reproducibility=_reproducibility(inputs, fine_tune, buy_summaries, rng_seed, review),
        recommended_action=action,
        notice_kind=notice_kind(final.result.verdict),
    )


def _assess(
    inputs: DecisionInputs,
    fine_tune: SideResults,
    buys: list[SideResults],
    ft_bounds: Bounds,
    buy_bounds: list[Bounds],
    preconditions: list[GateOutcome],
    flaky: list[int],
) -> _Assessment:
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
    )
    gates = [*preconditions]
    if cost_case:
        savings = net_savings_gate(moneys, comparisons)
        gates += [*_cost_gates(inputs), quality, savings]
    else:
        savings = None
        gates += [quality, *_domain_gates(inputs)]
    chosen = _comparison_buy(comparisons, moneys, quality, savings, flaky)
    advantage = comparisons[chosen].ratio if cost_case else comparisons[chosen].difference
    quarter = Quarter.parse(inputs.quarter)
    trend = advantage_trend(
        inputs.history,
        current_quarter=quarter,
        current_advantage=advantage.value,
        metric="quality ratio" if cost_case else "quality difference",
        threshold=bar,
        horizon_quarters=limits.warning_horizon_quarters,
        min_points=MIN_TREND_POINTS,
        adopted_quarter=(Quarter.parse(policy.adopted_quarter) if policy.adopted_quarter else None),
    )
    result = apply_rules(
        gates,
        advantage=advantage,
        advantage_gate=quality.name,
        max_interval_width=MAX_INTERVAL_WIDTH,
        trend=trend,
    )
    return _Assessment(comparisons, chosen, moneys, tuple(gates), advantage, trend, result)


def _comparison_buy(
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


def _known(x: float | None) -> bool:
    return x is not None and not math.isnan(x)


def _cost_gates(inputs: DecisionInputs) -> list[GateOutcome]:
    limits = inputs.policy.thresholds
    return [
        volume_gate(inputs.policy.volume_per_day, min_volume=limits.min_volume_per_day),
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


def _reproducibility(
    inputs: DecisionInputs,
    fine_tune: SideResults,
    buys: tuple[SideSummary, ...],
    seed: int,
    review: date,
) -> dict[str, Any]:
    def side(s: SideResults | SideSummary) -> dict[str, Any]:
        return {
            "name": s.name,
            "route": s.route,
            "model_version": s.model_version,
            "pricing": dict(s.pricing),
        }

    ft = side(fine_tune)
    if fine_tune.cost_per_call_usd is not None:
        ft["cost_per_call_usd"] = fine_tune.cost_per_call_usd
    if fine_tune.throughput is not None:
        ft["throughput"] = {
            "hardware": fine_tune.throughput.hardware,
            "items_per_s": fine_tune.throughput.items_per_s,
            "batch_size": fine_tune.throughput.batch_size,
            "gpu_usd_per_hour": fine_tune.throughput.gpu_usd_per_hour,
        }
    judge = inputs.judge
    return {
        "eval_set_hash": inputs.eval_set_hash,
        "n_items": fine_tune.n_items,
        "fine_tune": ft,
        "buys": [side(b) for b in buys],
        "judge": None if judge is None else {"route": judge.route, "version": judge.model_version},
        "seed": seed,
        "method": "score tests (null variance, Edgeworth), Holm over buys",
        "days_per_month": DAYS_PER_MONTH,
        "engine_version": ENGINE_VERSION,
        "numpy_version": np.__version__,
        "next_review_date": review.isoformat(),
    }
