"""The decision frame's gates, one function each, every one with its evidence in numbers.

A gate ``fail`` always rests on a known, measured fact (a declared volume, a declared
instability, an interval entirely on the wrong side of its bar); anything uncertain or
undeclared is ``unknown``. Preconditions decide whether any verdict is possible at all;
criteria are the frame's conditions for keeping a fine-tune. Here: the outcome type, the
preconditions and the criteria on declared facts; the criteria on this quarter's
measurements (quality bar, net savings) are :mod:`tasks.decision.measured_gates`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tasks.decision.sides import SideSummary

GateStatus = Literal["pass", "fail", "unknown"]
GateKind = Literal["precondition", "criterion", "caveat"]
"""A ``caveat`` is a measured fact that can only move a verdict toward ``watch`` (task drift,
``drift.py``): failing, it counts as an unknown criterion (verdict rule 6), never a retire."""


@dataclass(frozen=True, slots=True)
class GateOutcome:
    """One gate's result."""

    name: str
    status: GateStatus
    evidence: str
    """One sentence with the numbers behind the status."""
    threshold: float | None
    observed: float | None
    kind: GateKind
    rule: str
    """Where the rule comes from (the frame's section, or "engine default")."""


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def eval_items_gate(n_items: int, *, min_items: int) -> GateOutcome:
    """Frame, prompting-exhaustion FAQ: an eval set needs 200+ items to support a verdict."""
    ok = n_items >= min_items
    return GateOutcome(
        name="eval_items",
        status="pass" if ok else "fail",
        evidence=f"{n_items} paired items {'>=' if ok else '<'} the minimum of {min_items}",
        threshold=float(min_items),
        observed=float(n_items),
        kind="precondition",
        rule="frame: eval set with 200+ items",
    )


def error_rate_gate(side: SideSummary, *, max_error_rate: float) -> GateOutcome:
    """Engine rule: a side whose calls errored too often measured its provider, not its model."""
    ok = side.error_rate <= max_error_rate
    return GateOutcome(
        name=f"errors_{side.role}",
        status="pass" if ok else "fail",
        evidence=(
            f"{side.name}: {side.n_errors} of {side.n_items} items errored "
            f"({_pct(side.error_rate)}, limit {_pct(max_error_rate)} per side); "
            + (
                "errored items are bounded between failed and passed"
                if ok
                else "too many to judge quality"
            )
        ),
        threshold=max_error_rate,
        observed=side.error_rate,
        kind="precondition",
        rule="engine default: provider errors never become a verdict",
    )


def flaky_buy_gate(
    side: SideSummary,
    *,
    max_error_rate: float,
    verdict_if_failed: str,
    verdict_if_passed: str,
    bounded: str,
) -> GateOutcome:
    """Engine rule: a buy over the error limit is bounded, never dropped silently.

    Its errored items are scored all-failed and all-passed in turn and the verdict taken
    each way (``decide.py``). The same verdict both ways: the decision stands, and says so.
    Different verdicts: the outage could be deciding, so this gate fails (inconclusive).
    ``bounded`` is the verdict with its errored items bounded like any other buy's; it must
    agree too (it always lies between the two readings unless rules interact).
    """
    same = verdict_if_failed == verdict_if_passed == bounded
    head = (
        f"{side.name}: {side.n_errors} of {side.n_items} items errored "
        f"({_pct(side.error_rate)}, over the limit of {_pct(max_error_rate)} per side); "
    )
    evidence = head + (
        f"the verdict is {verdict_if_failed!r} whether its errored items all passed or all "
        "failed, so it stands"
        if same
        else f"the verdict is {verdict_if_failed!r} either way but {bounded!r} with them "
        "bounded, so this buy's errors could decide it"
        if verdict_if_failed == verdict_if_passed
        else f"the verdict would be {verdict_if_failed!r} if they all failed and "
        f"{verdict_if_passed!r} if they all passed, so this buy's errors could decide it"
    )
    return GateOutcome(
        name=f"errors_{side.role}",
        status="pass" if same else "fail",
        evidence=evidence,
        threshold=max_error_rate,
        observed=side.error_rate,
        kind="precondition",
        rule="engine default: a buy's outage is bounded, never dropped silently",
    )


def volume_gate(volume_per_day: float | None, *, min_volume: float) -> GateOutcome:
    """Frame, case 1 volume threshold: distillation pays at 10M+ calls per day."""
    if volume_per_day is None:
        status: GateStatus = "unknown"
        evidence = f"production volume is not recorded (needs >= {min_volume:,.0f} calls/day)"
    else:
        status = "pass" if volume_per_day >= min_volume else "fail"
        evidence = (
            f"{volume_per_day:,.0f} calls/day {'>=' if status == 'pass' else '<'} "
            f"{min_volume:,.0f} calls/day"
        )
    return GateOutcome(
        name="volume",
        status=status,
        evidence=evidence,
        threshold=min_volume,
        observed=volume_per_day,
        kind="criterion",
        rule="frame: fine-tune case 1, volume threshold",
    )


def task_stability_gate(task_stable: bool | None, *, task_changed: bool) -> GateOutcome:
    """Frame, case 1 stability threshold: the task's intelligence requirements are stable.

    The owner's declaration decides: declared unstable fails. A change seen this quarter on
    a task declared stable (or undeclared) is not proof of instability: unknown.
    """
    if task_stable is False:
        status: GateStatus = "fail"
        evidence = "the owner declares the task unstable"
    elif task_changed:
        status = "unknown"
        evidence = "the eval set or prompt changed meaning this quarter; confirm stability"
    elif task_stable is None:
        status = "unknown"
        evidence = "task stability is not declared"
    else:
        status = "pass"
        evidence = "declared stable and unchanged this quarter"
    return GateOutcome(
        name="task_stability",
        status=status,
        evidence=evidence,
        threshold=None,
        observed=None,
        kind="criterion",
        rule="frame: fine-tune case 1, stability threshold",
    )


def training_examples_gate(examples: int | None, *, minimum: int) -> GateOutcome:
    """Frame, case 2 data availability: 10,000+ high-quality domain examples."""
    if examples is None:
        status: GateStatus = "unknown"
        evidence = f"training examples not on record (needs >= {minimum:,})"
    else:
        status = "pass" if examples >= minimum else "fail"
        evidence = f"{examples:,} examples {'>=' if status == 'pass' else '<'} {minimum:,}"
    return GateOutcome(
        name="training_examples",
        status=status,
        evidence=evidence,
        threshold=float(minimum),
        observed=None if examples is None else float(examples),
        kind="criterion",
        rule="frame: fine-tune case 2, domain data availability",
    )


def domain_stability_gate(domain_stable: bool | None) -> GateOutcome:
    """Frame, case 2 domain stability: no quarterly retraining needed."""
    status: GateStatus = "unknown" if domain_stable is None else "pass" if domain_stable else "fail"
    evidence = {
        "pass": "the owner declares the domain stable",
        "fail": "the owner declares the domain unstable (needs frequent retraining)",
        "unknown": "domain stability is not declared",
    }[status]
    return GateOutcome(
        name="domain_stability",
        status=status,
        evidence=evidence,
        threshold=None,
        observed=None,
        kind="criterion",
        rule="frame: fine-tune case 2, domain stability",
    )
