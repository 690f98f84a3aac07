"""The one entry point: :func:`decide` composes statistics, money, gates, trend and verdict."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np

from tasks.decision.errors import InvalidInputsError
from tasks.decision.gates import (
    GateOutcome,
    domain_margin_gate,
    domain_stability_gate,
    error_rate_gate,
    eval_items_gate,
    net_savings_gate,
    quality_ratio_gate,
    task_stability_gate,
    training_examples_gate,
    volume_gate,
)
from tasks.decision.money import DAYS_PER_MONTH, MoneySummary, money_summary
from tasks.decision.outcome import DecisionOutcome
from tasks.decision.quarter import Quarter, next_review_date
from tasks.decision.sides import SideSummary, align, best_buy_index, score_bounds, summarize
from tasks.decision.stats import (
    Estimate,
    mcnemar_exact,
    minimum_detectable_difference,
    paired_bootstrap,
)
from tasks.decision.trend import advantage_trend
from tasks.decision.types import DecisionInputs, SideResults
from tasks.decision.verdict import apply_rules, notice_kind, recommended_action

ENGINE_VERSION = "1"
"""Bumped whenever a rule or a statistic changes, so old decisions can be told apart."""


def decide(inputs: DecisionInputs, *, rng_seed: int, today: date) -> DecisionOutcome:
    """Decide one workload's quarter: keep, watch, retire or inconclusive, with the evidence.

    Args:
        inputs: the workload's policy, this quarter's results of the fine-tune and of every
            buy alternative (same eval items), and the past decisions.
        rng_seed: seeds the paired bootstrap; the same inputs and seed give the same outcome.
            Pass one seed for every workload of a run (the flow's run seed, recorded in
            each decision): the resample counts for an item count are then drawn once and
            reused, which makes a bulk run about 20x faster than a seed per workload.
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
    ft_summary = summarize(fine_tune, alpha=limits.alpha)
    buy_summaries = tuple(summarize(b, alpha=limits.alpha) for b in buys)
    best = best_buy_index(buy_summaries, max_error_rate=limits.max_error_rate)
    buy, buy_summary = buys[best], buy_summaries[best]

    ft_low, ft_high = score_bounds(fine_tune)
    buy_low, buy_high = score_bounds(buy)
    comparison = paired_bootstrap(
        ft_low,
        ft_high,
        buy_low,
        buy_high,
        resamples=limits.bootstrap_resamples,
        seed=rng_seed,
        alpha=limits.alpha,
    )
    mcnemar = mcnemar_exact(fine_tune.passed, buy.passed)
    mdd = minimum_detectable_difference(ft_low - buy_low, alpha=limits.alpha)
    money = money_summary(
        fine_tune,
        buy,
        volume_per_day=policy.volume_per_day,
        fixed_costs_monthly_usd=policy.fixed_costs_monthly_usd,
    )

    gates = [
        eval_items_gate(fine_tune.n_items, min_items=limits.min_items),
        error_rate_gate(ft_summary, max_error_rate=limits.max_error_rate),
        error_rate_gate(buy_summary, max_error_rate=limits.max_error_rate),
    ]
    advantage: Estimate
    if policy.case == "cost_distillation":
        advantage, gate_name, bar = comparison.ratio, "quality_ratio", limits.quality_ratio_min
        gates += _cost_gates(inputs, money, advantage)
    else:
        advantage, gate_name, bar = comparison.difference, "domain_margin", limits.domain_margin
        gates += _domain_gates(inputs, advantage)
    trend = advantage_trend(
        inputs.history,
        current_quarter=quarter,
        current_advantage=advantage.value,
        metric="quality ratio" if gate_name == "quality_ratio" else "quality difference",
        threshold=bar,
        horizon_quarters=limits.warning_horizon_quarters,
        min_points=limits.min_trend_points,
        adopted_quarter=(Quarter.parse(policy.adopted_quarter) if policy.adopted_quarter else None),
    )
    result = apply_rules(
        gates,
        advantage=advantage,
        advantage_gate=gate_name,
        max_interval_width=limits.max_interval_width,
        trend=trend,
    )
    review = next_review_date(quarter, today)
    action = recommended_action(
        result.verdict,
        rule=result.rule,
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
        verdict=result.verdict,
        rule=result.rule,
        reasons=result.reasons,
        fine_tune=ft_summary,
        buy=buy_summary,
        buys=buy_summaries,
        comparison=comparison,
        mcnemar=mcnemar,
        minimum_detectable_difference=mdd,
        money=money,
        gates=tuple(gates),
        trend=trend,
        history=history,
        thresholds=limits,
        reproducibility=_reproducibility(inputs, fine_tune, buy_summaries, rng_seed, review),
        recommended_action=action,
        notice_kind=notice_kind(result.verdict),
    )


def _cost_gates(inputs: DecisionInputs, money: MoneySummary, ratio: Estimate) -> list[GateOutcome]:
    limits = inputs.policy.thresholds
    return [
        volume_gate(inputs.policy.volume_per_day, min_volume=limits.min_volume_per_day),
        task_stability_gate(inputs.policy.task_stable, task_changed=inputs.task_changed),
        quality_ratio_gate(ratio, minimum=limits.quality_ratio_min),
        net_savings_gate(money),
    ]


def _domain_gates(inputs: DecisionInputs, difference: Estimate) -> list[GateOutcome]:
    limits = inputs.policy.thresholds
    return [
        domain_margin_gate(difference, margin=limits.domain_margin),
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
        "bootstrap_seed": seed,
        "bootstrap_resamples": inputs.policy.thresholds.bootstrap_resamples,
        "days_per_month": DAYS_PER_MONTH,
        "engine_version": ENGINE_VERSION,
        "numpy_version": np.__version__,
        "next_review_date": review.isoformat(),
    }
