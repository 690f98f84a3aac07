"""The decision frame's gates, one function each, every one with its evidence in numbers.

A gate ``fail`` always rests on a known, measured fact (a declared volume, a declared
instability, an interval entirely on the wrong side of its bar); anything uncertain or
undeclared is ``unknown``. Preconditions decide whether any verdict is possible at all;
criteria are the frame's conditions for keeping a fine-tune.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from tasks.decision.comparison import BuyComparison
from tasks.decision.money import MoneySummary
from tasks.decision.sides import SideSummary

GateStatus = Literal["pass", "fail", "unknown"]
GateKind = Literal["precondition", "criterion"]


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


def _p(x: float) -> str:
    return f"= {x:.2g}" if x >= 0.001 else "< 0.001"


def advantage_gate(
    comparisons: Sequence[BuyComparison],
    *,
    measure: str,
    bar: float,
    alpha: float,
    correction: str,
) -> GateOutcome:
    """Frame, case 1 quality bar (95% of the buy) or case 2 margin, against every buy.

    Fail: against some buy the fine-tune is below the bar, with the erosion test's
    Holm-adjusted p-value under ``alpha / 2``. Pass: against every buy it is shown above the
    bar (each interval's lower end clears it). Otherwise the evidence is borderline: unknown.
    The evidence names the buy that decided and the correction used.
    """
    ratio = measure == "ratio"
    level = alpha / 2.0
    name = "quality_ratio" if ratio else "domain_margin"
    worst = min(comparisons, key=lambda c: (c.p_adjusted, c.p_eroded))

    def shown(c: BuyComparison) -> str:
        e = c.ratio if ratio else c.difference
        what = "quality ratio" if ratio else "fine-tune - buy"
        fmt = "{:.3f}" if ratio else "{:+.3f}"
        return (
            f"{what} vs `{c.buy}` {fmt.format(e.value)} (95% CI {fmt.format(e.low)} to "
            f"{fmt.format(e.high)})"
        )

    bar_text = f"{bar:.2f}" if ratio else f"{bar:+.3f}"
    tail = f"; {correction}"
    eroded = [c for c in comparisons if c.p_adjusted < level]
    if eroded:
        status: GateStatus = "fail"
        evidence = (
            f"{shown(worst)}: below {bar_text}, erosion p {_p(worst.p_eroded)}, "
            f"adjusted p {_p(worst.p_adjusted)} < {level:g}, eroded{tail}"
        )
    elif all(c.holds for c in comparisons):
        status = "pass"
        weakest = min(comparisons, key=lambda c: (c.ratio if ratio else c.difference).low)
        evidence = (
            f"{shown(weakest)}: lower bound clears {bar_text} against every buy "
            f"({len(comparisons)}){tail}"
        )
    else:
        status = "unknown"
        evidence = (
            f"{shown(worst)} straddles {bar_text}: borderline (erosion p "
            f"{_p(worst.p_eroded)}, adjusted p {_p(worst.p_adjusted)} >= {level:g}){tail}"
        )
    return GateOutcome(
        name=name,
        status=status,
        evidence=evidence,
        threshold=bar,
        observed=(worst.ratio if ratio else worst.difference).value,
        kind="criterion",
        rule=(
            "frame: fine-tune case 1, quality bar"
            if ratio
            else "frame: fine-tune case 2, prompting ceiling"
        ),
    )


def _savings(m: MoneySummary) -> float | None:
    x = m.net_monthly_savings_usd
    return None if x is None or math.isnan(x) else x


def net_savings_gate(
    moneys: Sequence[MoneySummary], comparisons: Sequence[BuyComparison]
) -> GateOutcome:
    """Frame, case 1: the token savings must exceed what the fine-tune costs to keep.

    The fine-tune must save money against every buy that could replace it. Fail: keeping it
    costs money against a buy it is not shown to beat on quality (that buy is named).
    Unknown: it costs money only against buys it beats on quality (no replacement, but the
    cost case no longer holds), or a saving cannot be computed (volume unknown, or a side
    answered nothing). Pass: it saves against every buy. Costs come from answered calls.
    """
    pairs = list(zip(moneys, comparisons, strict=True))
    losing = [(m, c) for m, c in pairs if _savings(m) is not None and (_savings(m) or 0.0) <= 0]
    replaceable = [m for m, c in losing if not c.beats]
    unknown = [m for m, _ in pairs if _savings(m) is None]
    status: GateStatus
    if replaceable:
        status, money = "fail", min(replaceable, key=lambda m: _savings(m) or 0.0)
    elif losing:
        status, money = "unknown", min((m for m, _ in losing), key=lambda m: _savings(m) or 0.0)
    elif unknown:
        status, money = "unknown", unknown[0]
    else:
        status, money = "pass", min(moneys, key=lambda m: _savings(m) or 0.0)
    savings = _savings(money)
    per_call = (
        f"${money.fine_tune_cost_per_call_usd:.6f} vs ${money.buy_cost_per_call_usd:.6f} per "
        f"answered call (`{money.buy}`)"
    )
    if savings is None:
        evidence = f"{per_call}; production volume or answered calls missing, savings unknown"
    else:
        evidence = (
            f"{per_call}; at {money.volume_per_day:,.0f} calls/day x "
            f"{money.days_per_month} days, net of ${money.fixed_costs_monthly_usd:,.0f} fixed "
            f"costs, keeping the fine-tune {'saves' if savings > 0 else 'costs'} "
            f"${abs(savings):,.0f}/month"
            + (f" (the least of {len(moneys)} buys)" if len(moneys) > 1 else "")
            + (
                "; the fine-tune is shown better than that buy, so it is no replacement, but "
                "the cost case no longer holds"
                if status == "unknown"
                else ""
            )
        )
    return GateOutcome(
        name="net_savings",
        status=status,
        evidence=evidence,
        threshold=0.0,
        observed=savings,
        kind="criterion",
        rule="frame: fine-tune case 1, token cost is the binding constraint",
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
