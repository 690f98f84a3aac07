"""The one entry point: :func:`decide` composes statistics, money, gates, trend and verdict."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from tasks.decision.assessment import Assessment, Bounds, assess
from tasks.decision.comparison import correction_text
from tasks.decision.errors import InvalidInputsError
from tasks.decision.gates import GateOutcome, error_rate_gate, eval_items_gate, flaky_buy_gate
from tasks.decision.outcome import DecisionOutcome
from tasks.decision.quarter import Quarter, next_review_date
from tasks.decision.repeated import repeated_testing
from tasks.decision.reproducibility import reproducibility
from tasks.decision.sides import SideSummary, align, score_bounds, summarize
from tasks.decision.stats import PairedComparison, mcnemar_exact, minimum_detectable_difference
from tasks.decision.types import DecisionInputs, SideResults
from tasks.decision.verdict import notice_kind, recommended_action

ENGINE_VERSION = "2"
"""Bumped whenever a rule or a statistic changes, so old decisions can be told apart.
2: score tests with Holm's correction over every buy, flaky buys bounded, answered-call costs."""


@dataclass(frozen=True, slots=True)
class _Evidence:
    """This quarter's sides, aligned and summarised once for every reading."""

    buys: list[SideResults]
    """Each buy alternative aligned with the fine-tune's items."""
    fine_tune: SideSummary
    summaries: tuple[SideSummary, ...]
    fine_tune_bounds: Bounds
    bounds: list[Bounds]
    flaky: list[int]
    """Buys over the error limit: their errored items are bounded, not counted against them."""
    steady_gates: list[GateOutcome]
    """The preconditions every reading shares (eval items, error rates of the steady sides)."""


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
    evidence = _evidence(inputs)
    return _outcome(inputs, evidence, _final(inputs, evidence), rng_seed=rng_seed, today=today)


def _evidence(inputs: DecisionInputs) -> _Evidence:
    limits = inputs.policy.thresholds
    fine_tune = inputs.fine_tune
    buys = []
    for side in inputs.buys:
        if side.role != "buy":
            raise InvalidInputsError(
                field=f"buys[{side.name}].role", value=side.role, expected="'buy'"
            )
        buys.append(align(fine_tune, side))
    ft_summary = summarize(fine_tune, alpha=limits.significance_alpha)
    summaries = tuple(summarize(b, alpha=limits.significance_alpha) for b in buys)
    flaky = [i for i, s in enumerate(summaries) if s.error_rate > limits.max_error_rate]
    steady_gates = [
        eval_items_gate(fine_tune.n_items, min_items=limits.min_items),
        error_rate_gate(ft_summary, max_error_rate=limits.max_error_rate),
        *(
            error_rate_gate(s, max_error_rate=limits.max_error_rate)
            for i, s in enumerate(summaries)
            if i not in flaky
        ),
    ]
    return _Evidence(
        buys=buys,
        fine_tune=ft_summary,
        summaries=summaries,
        fine_tune_bounds=score_bounds(fine_tune),
        bounds=[score_bounds(b) for b in buys],
        flaky=flaky,
        steady_gates=steady_gates,
    )


def _reading(
    inputs: DecisionInputs, ev: _Evidence, bounds: list[Bounds], extra: list[GateOutcome]
) -> Assessment:
    gates = [*ev.steady_gates, *extra]
    return assess(inputs, inputs.fine_tune, ev.buys, ev.fine_tune_bounds, bounds, gates, ev.flaky)


def _final(inputs: DecisionInputs, ev: _Evidence) -> Assessment:
    """The verdict with each flaky buy bounded: its errored items read as all failed and as
    all passed; the flaky gate records both verdicts and the bounded one."""
    open_reading = _reading(inputs, ev, ev.bounds, [])
    flaky_gates = []
    for j in ev.flaky:
        verdicts = []
        for fill in (0.0, 1.0):
            filled = np.where(ev.buys[j].errored, fill, ev.buys[j].scores)
            bounds = [*ev.bounds[:j], (filled, filled), *ev.bounds[j + 1 :]]
            verdicts.append(_reading(inputs, ev, bounds, []).result.verdict)
        flaky_gates.append(
            flaky_buy_gate(
                ev.summaries[j],
                max_error_rate=inputs.policy.thresholds.max_error_rate,
                verdict_if_failed=verdicts[0],
                verdict_if_passed=verdicts[1],
                bounded=open_reading.result.verdict,
            )
        )
    return _reading(inputs, ev, ev.bounds, flaky_gates) if flaky_gates else open_reading


def _outcome(
    inputs: DecisionInputs, ev: _Evidence, final: Assessment, *, rng_seed: int, today: date
) -> DecisionOutcome:
    policy, limits = inputs.policy, inputs.policy.thresholds
    quarter = Quarter.parse(inputs.quarter)
    buy, comparison = ev.buys[final.chosen], final.comparisons[final.chosen]
    money = final.moneys[final.chosen]
    review = next_review_date(quarter, today)
    history = sorted(
        (p for p in inputs.history if Quarter.parse(p.quarter) != quarter),
        key=lambda p: Quarter.parse(p.quarter),
    )
    return DecisionOutcome(
        workload=policy.name,
        case=policy.case,
        quarter=str(quarter),
        decided_on=today,
        verdict=final.result.verdict,
        rule=final.result.rule,
        reasons=final.result.reasons,
        fine_tune=ev.fine_tune,
        buy=ev.summaries[final.chosen],
        buys=ev.summaries,
        comparison=PairedComparison(
            ratio=comparison.ratio,
            difference=comparison.difference,
            buy=buy.name,
            correction=correction_text(len(ev.buys)),
        ),
        comparisons=final.comparisons,
        mcnemar=mcnemar_exact(inputs.fine_tune.passed, buy.passed),
        minimum_detectable_difference=minimum_detectable_difference(
            ev.fine_tune_bounds[0] - ev.bounds[final.chosen][0], alpha=limits.significance_alpha
        ),
        money=money,
        gates=final.gates,
        trend=final.trend,
        history=tuple(history),
        thresholds=limits,
        repeated=repeated_testing(limits.significance_alpha),
        reproducibility=reproducibility(
            inputs, inputs.fine_tune, ev.summaries, rng_seed, review, engine_version=ENGINE_VERSION
        ),
        recommended_action=recommended_action(
            final.result.verdict,
            rule=final.result.rule,
            fine_tune=inputs.fine_tune.name,
            buy=buy.name,
            buy_route=buy.route,
            next_review=review.isoformat(),
            savings_usd=money.net_monthly_savings_usd,
        ),
        notice_kind=notice_kind(final.result.verdict),
        volume=inputs.volume,
        drift=inputs.drift,
        sequential=inputs.sequential,
    )
