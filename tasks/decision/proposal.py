"""Before anything is built: a proposed workload checked against the decision frame.

The frame's default is *buy*; a fine-tune is reached only when buy fails the cost-at-scale
gate or the prompting-ceiling gate, and *build* only when its own three gates fire. Given the
proposal's facts and the head-to-head of every buy alternative under every prompt variant
(and a candidate checkpoint's run, when there is one), :func:`assess_proposal` applies:

* cost case: volume >= ``min_volume_per_day`` (10M/day), a stable task, the break-even volume
  at which a fine-tune's savings pay back its fixed monthly costs at or under the volume, and
  (with a checkpoint) quality >= ``quality_ratio_min`` (95%) of the best well-prompted buy;
* domain case: ``min_training_examples`` (10,000+) examples, a stable domain, and a prompting
  ceiling: the best buy has plateaued across the variants (later variants add less than
  :data:`PLATEAU_TOLERANCE`) *below* the proposal's quality target;
* build: 100B+ proprietary tokens, the model as a strategic asset, $50M+ capital, all three.

Recommendation: ``fine_tune`` when every gate of the case passes; else ``build`` when every
build gate passes; else ``buy`` (unknown gates never justify engineering work).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from tasks.decision.gates import (
    GateOutcome,
    GateStatus,
    domain_stability_gate,
    eval_items_gate,
    task_stability_gate,
    training_examples_gate,
    volume_gate,
)
from tasks.decision.measured_volume import MeasuredVolume, measured_volume_gate
from tasks.decision.money import DAYS_PER_MONTH
from tasks.decision.sides import SideSummary
from tasks.decision.types import Case, Thresholds

PLATEAU_TOLERANCE = 0.01
"""A later prompt variant that adds less than this much quality is not an improvement."""
BUILD_MIN_TOKENS = 100e9
BUILD_MIN_CAPITAL_USD = 50e6
Recommendation = Literal["buy", "fine_tune", "build"]


@dataclass(frozen=True, slots=True)
class VariantRun:
    """One buy alternative under one prompt variant, on the scored eval items."""

    buy: str
    variant: str
    summary: SideSummary


@dataclass(frozen=True, slots=True)
class Plateau:
    """Where one buy's quality stops improving across the variants, in the order listed."""

    buy: str
    qualities: tuple[tuple[str, float], ...]
    stops_at: str
    """The first variant within the tolerance of the best."""
    plateaued: bool
    """Variants were tried past ``stops_at`` and none added more than the tolerance."""

    def sentence(self) -> str:
        """The curve in one sentence."""
        curve = " -> ".join(f"{v} {q:.3f}" for v, q in self.qualities)
        tail = (
            f"quality stops improving at `{self.stops_at}`"
            if self.plateaued
            else f"still improving at the last variant `{self.stops_at}`: try more prompting"
        )
        return f"`{self.buy}`: {curve}; {tail}"


@dataclass(frozen=True, slots=True)
class BuildFacts:
    """What the proposal declares about the build branch."""

    proprietary_tokens: float | None = None
    strategic_asset: bool | None = None
    capital_usd: float | None = None


@dataclass(frozen=True, slots=True)
class ProposalFacts:
    """The proposal's declared (or measured) facts."""

    name: str
    case: Case
    volume_per_day: float | None
    volume: MeasuredVolume | None = None
    fixed_costs_monthly_usd: float = 0.0
    training_examples: int | None = None
    task_stable: bool | None = None
    domain_stable: bool | None = None
    quality_target: float | None = None
    fine_tune_cost_per_call_usd: float | None = None
    """Expected per-call cost of the fine-tune when no checkpoint was run."""
    build: BuildFacts | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)


@dataclass(frozen=True, slots=True)
class ProposalOutcome:
    """The checks, the head-to-head and the recommendation."""

    facts: ProposalFacts
    runs: tuple[VariantRun, ...]
    plateaus: tuple[Plateau, ...]
    best: VariantRun
    """The best well-prompted buy: highest quality, then lowest cost per useful task."""
    fine_tune: SideSummary | None
    fine_tune_cost_per_call_usd: float | None
    break_even_volume_per_day: float | None
    gates: tuple[GateOutcome, ...]
    build_gates: tuple[GateOutcome, ...]
    recommendation: Recommendation
    reasons: tuple[str, ...]


def plateau_of(buy: str, runs: Sequence[VariantRun], *, tolerance: float) -> Plateau:
    """The buy's quality curve over its variants (in the order listed)."""
    qualities = tuple((r.variant, r.summary.quality.value) for r in runs)
    best = max(q for _, q in qualities)
    index = next(i for i, (_, q) in enumerate(qualities) if q >= best - tolerance)
    return Plateau(buy, qualities, qualities[index][0], plateaued=index < len(qualities) - 1)


def break_even_volume(
    *, buy_cost_per_call: float, fine_tune_cost_per_call: float | None, fixed_monthly: float
) -> float | None:
    """Calls per day at which buy - fine-tune per-call savings pay the fixed monthly costs
    (``money.py``'s month); None when unknown; ``inf`` when the fine-tune never pays back."""
    if fine_tune_cost_per_call is None or math.isnan(fine_tune_cost_per_call):
        return None
    saving = buy_cost_per_call - fine_tune_cost_per_call
    if not saving > 0:
        return math.inf
    return fixed_monthly / (saving * DAYS_PER_MONTH)


def _gate(
    name: str,
    status: GateStatus,
    evidence: str,
    rule: str,
    *,
    threshold: float | None = None,
    observed: float | None = None,
) -> GateOutcome:
    return GateOutcome(name, status, evidence, threshold, observed, "criterion", rule)


def _break_even_gate(be: float | None, volume: float | None) -> GateOutcome:
    rule = "frame: fine-tune case 1, token cost is the binding constraint"
    if be is None:
        return _gate("break_even", "unknown", "fine-tune cost per call unknown: run a candidate "
                     "checkpoint or declare fine_tune_cost_per_call_usd", rule)  # fmt: skip
    if math.isinf(be):
        return _gate("break_even", "fail", "the fine-tune costs as much per call as the best "
                     "buy or more: it never pays back its fixed costs", rule)  # fmt: skip
    if volume is None:
        return _gate("break_even", "unknown", f"break-even at {be:,.0f} calls/day; volume "
                     "unknown", rule, threshold=be)  # fmt: skip
    ok = volume >= be
    return _gate(
        "break_even", "pass" if ok else "fail",
        f"break-even at {be:,.0f} calls/day; volume {volume:,.0f} is "
        f"{'above' if ok else 'below'} it", rule, threshold=be, observed=volume,
    )  # fmt: skip


def _quality_gate(ft: SideSummary | None, best: VariantRun, bar: float) -> GateOutcome:
    rule = "frame: fine-tune case 1, quality bar"
    if ft is None:
        return _gate("quality_ratio", "unknown", "no candidate checkpoint run: quality vs the "
                     "best buy not measured", rule, threshold=bar)  # fmt: skip
    buy_q = best.summary.quality.value
    ratio = ft.quality.value / buy_q if buy_q > 0 else math.inf
    return _gate(
        "quality_ratio", "pass" if ratio >= bar else "fail",
        f"checkpoint {ft.quality.value:.3f} vs `{best.buy}` ({best.variant}) {buy_q:.3f}: "
        f"ratio {ratio:.3f} {'>=' if ratio >= bar else '<'} {bar:.2f}", rule,
        threshold=bar, observed=ratio,
    )  # fmt: skip


def _ceiling_gate(
    plateaus: Sequence[Plateau], best: VariantRun, target: float | None
) -> GateOutcome:
    rule = "frame: fine-tune case 2, prompting exhaustion"
    q = best.summary.quality
    curves = "; ".join(p.sentence() for p in plateaus)
    if target is None:
        return _gate("prompting_ceiling", "unknown", f"no quality_target declared. {curves}", rule)
    if q.value >= target:
        return _gate("prompting_ceiling", "fail", f"the best buy reaches the target: `{best.buy}` "
                     f"({best.variant}) {q.value:.3f} >= {target:.3f}", rule,
                     threshold=target, observed=q.value)  # fmt: skip
    exhausted = all(p.plateaued for p in plateaus)
    status: GateStatus = "pass" if exhausted and q.high < target else "unknown"
    return _gate("prompting_ceiling", status, f"best buy {q.value:.3f} (95% CI {q.low:.3f} to "
                 f"{q.high:.3f}) under the target {target:.3f}; {curves}", rule,
                 threshold=target, observed=q.value)  # fmt: skip


def _build_gates(build: BuildFacts | None) -> tuple[GateOutcome, ...]:
    if build is None:
        return ()
    rule = "frame: build gates"

    def status(ok: bool | None) -> GateStatus:
        return "unknown" if ok is None else "pass" if ok else "fail"

    tokens, capital = build.proprietary_tokens, build.capital_usd
    enough_capital = None if capital is None else capital >= BUILD_MIN_CAPITAL_USD
    return (
        _gate("build_data_volume", status(None if tokens is None else tokens >= BUILD_MIN_TOKENS),
              f"{tokens or 0:,.0f} proprietary tokens (needs 100B+)", rule),
        _gate("build_strategic_asset", status(build.strategic_asset),
              f"model as the strategic asset: {build.strategic_asset}", rule),
        _gate("build_capital", status(enough_capital),
              f"${capital or 0:,.0f} capital (needs $50M+, 24-36 month payback)", rule),
    )  # fmt: skip


def _best(runs: Sequence[VariantRun]) -> VariantRun:
    def cost(r: VariantRun) -> float:
        c = r.summary.cost_per_useful_task_usd
        return math.inf if c is None else c

    return max(runs, key=lambda r: (r.summary.quality.value, -cost(r)))


def assess_proposal(
    facts: ProposalFacts,
    runs: Sequence[VariantRun],
    *,
    fine_tune: SideSummary | None = None,
    n_items: int,
) -> ProposalOutcome:
    """The frame's checks on a proposal (see the module docstring).

    Raises:
        ValueError: no buy run at all.
    """
    if not runs:
        raise ValueError("a proposal needs at least one buy alternative run")
    t = facts.thresholds
    best = _best(runs)
    buys = list(dict.fromkeys(r.buy for r in runs))
    plateaus = tuple(
        plateau_of(b, [r for r in runs if r.buy == b], tolerance=PLATEAU_TOLERANCE) for b in buys
    )
    ft_call = fine_tune.cost_per_call_usd if fine_tune is not None else None
    ft_call = ft_call if ft_call is not None else facts.fine_tune_cost_per_call_usd
    be = break_even_volume(
        buy_cost_per_call=best.summary.cost_per_call_usd,
        fine_tune_cost_per_call=ft_call,
        fixed_monthly=facts.fixed_costs_monthly_usd,
    )
    gates: list[GateOutcome] = [eval_items_gate(n_items, min_items=t.min_items)]
    if facts.case == "cost_distillation":
        gates += [
            volume_gate(facts.volume_per_day, min_volume=t.min_volume_per_day)
            if facts.volume is None
            else measured_volume_gate(facts.volume, min_volume=t.min_volume_per_day),
            task_stability_gate(facts.task_stable, task_changed=False),
            _break_even_gate(be, facts.volume_per_day),
            _quality_gate(fine_tune, best, t.quality_ratio_min),
        ]
    else:
        gates += [
            training_examples_gate(facts.training_examples, minimum=t.min_training_examples),
            domain_stability_gate(facts.domain_stable),
            _ceiling_gate(plateaus, best, facts.quality_target),
        ]
    build = _build_gates(facts.build)
    recommendation, reasons = _recommend(gates, build)
    return ProposalOutcome(
        facts=facts, runs=tuple(runs), plateaus=plateaus, best=best, fine_tune=fine_tune,
        fine_tune_cost_per_call_usd=ft_call, break_even_volume_per_day=be, gates=tuple(gates),
        build_gates=build, recommendation=recommendation, reasons=reasons,
    )  # fmt: skip


def _recommend(
    gates: Sequence[GateOutcome], build: Sequence[GateOutcome]
) -> tuple[Recommendation, tuple[str, ...]]:
    if gates[0].status == "fail":
        return "buy", (f"{gates[0].evidence}: the head-to-head cannot support a fine-tune",)
    criteria = gates[1:]
    if all(g.status == "pass" for g in criteria):
        return "fine_tune", tuple(g.evidence for g in criteria)
    if build and all(g.status == "pass" for g in build):
        return "build", tuple(g.evidence for g in build)
    failed = [g.evidence for g in criteria if g.status == "fail"]
    unknown = [f"not shown: {g.evidence}" for g in criteria if g.status == "unknown"]
    return "buy", (*failed, *unknown)
