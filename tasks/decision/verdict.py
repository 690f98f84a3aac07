"""The verdict: how gate outcomes and the trend become keep, watch, retire or inconclusive.

Rules, applied in order; the first that matches decides. "Frame" is the decision frame
(``decision-frame.txt``); "engine" marks a rule this engine adds to keep the frame honest.

1. **Enough items** (frame: an eval set of 200+ items). Fewer paired items than
   ``min_items`` -> ``inconclusive``.
2. **Provider errors, per side** (engine). Each side's error rate is its errored items over
   its own items (sides are never pooled). A fine-tune above ``max_error_rate`` ->
   ``inconclusive``: an outage measures the provider, not the model. A buy above it is not
   dropped: its errored items are scored all-failed and all-passed and the verdict taken
   each way; if the two (and the bounded verdict) agree the decision stands and its gate
   says so, otherwise -> ``inconclusive``, naming the buy.
3. **Errors within the limit are bounded, never dropped** (engine). An errored item's score
   is unknown: the point estimates count it as failed (0); the erosion test reads the
   fine-tune's errored items as passed and the buy's as failed, the holding test the other
   way. More errors can only weaken either finding, so they never move a verdict toward
   ``retire``. Costs come from answered calls only (``money.py``).
4. **Too wide to tell** (engine, the design's "CI too wide"). If the advantage interval
   straddles its bar and is wider than ``MAX_INTERVAL_WIDTH`` -> ``inconclusive``.
5. **A criterion fails on a known fact -> ``retire``**. The criteria are the frame's:
   cost case (fine-tune case 1): volume >= 10M calls/day, a stable task, quality >= 95% of
   the buy alternative, positive net savings; domain case (fine-tune case 2): a significant
   margin over the well-prompted buy, 10,000+ training examples on record, a stable domain.
   Gates only fail on known facts: a declared volume, a declared instability, measured net
   savings <= 0 against a buy that could replace the fine-tune, or a score test showing the
   fine-tune below its bar against some buy with a Holm-adjusted p-value under
   ``alpha / 2`` (the fine-tune must hold against every buy; ``comparison.py``).
6. **A criterion is unknown -> ``watch``**. Undeclared facts and borderline intervals (the
   ratio's interval straddles 0.95; the difference's interval includes the margin) never
   retire: uncertainty moves toward ``watch``, never toward ``retire``. A failed *caveat*
   (a production sample that drifted from the eval set, ``drift.py``) counts here too.
7. **Erosion projected within the horizon -> ``watch``** (frame: quarterly re-litigation
   catches the erosion; design: warning horizon 2 quarters). All criteria pass, but the
   fitted advantage line (with at least ``MIN_TREND_POINTS`` quarters) reaches the bar
   within ``warning_horizon_quarters``.
8. Otherwise **``keep``**: the 95% rule holds with its lower bound at or above the bar
   (cost case) or the margin is significant (domain case), and every other criterion passes.

Consequences the tests check: identical sides never fail the quality gate; adding errors
never turns a non-``retire`` verdict into ``retire`` (the order is: ``retire`` is the only
verdict that acts against the fine-tune; ``inconclusive``, ``watch`` and ``keep`` do not).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tasks.decision.gates import GateOutcome
from tasks.decision.stats import Estimate
from tasks.decision.trend import TrendSummary
from tasks.decision.types import Verdict

NoticeKind = str | None


@dataclass(frozen=True, slots=True)
class VerdictResult:
    """The verdict, the numbered rule that decided it and the reasons in words."""

    verdict: Verdict
    rule: int
    reasons: tuple[str, ...]


def apply_rules(
    gates: Sequence[GateOutcome],
    *,
    advantage: Estimate,
    advantage_gate: str,
    max_interval_width: float,
    trend: TrendSummary,
) -> VerdictResult:
    """Apply the module's rules 1-8 to the gate outcomes and the trend."""
    by_name = {g.name: g for g in gates}
    if by_name["eval_items"].status == "fail":
        return VerdictResult("inconclusive", 1, (by_name["eval_items"].evidence,))
    flaky = [g.evidence for g in gates if g.kind == "precondition" and g.status == "fail"]
    if flaky:
        return VerdictResult("inconclusive", 2, tuple(flaky))
    gate = by_name[advantage_gate]
    if gate.status == "unknown" and advantage.width > max_interval_width:
        return VerdictResult(
            "inconclusive",
            4,
            (
                f"{gate.evidence}; the interval is {advantage.width:.3f} wide "
                f"(> {max_interval_width}), too wide to tell",
            ),
        )
    criteria = [g for g in gates if g.kind == "criterion"]
    failed = [g.evidence for g in criteria if g.status == "fail"]
    if failed:
        return VerdictResult("retire", 5, tuple(failed))
    unknown = [g.evidence for g in criteria if g.status == "unknown"]
    unknown += [g.evidence for g in gates if g.kind == "caveat" and g.status != "pass"]
    if unknown:
        trend_note = (trend_sentence(trend),) if trend.within_horizon else ()
        return VerdictResult("watch", 6, (*unknown, *trend_note))
    if trend.within_horizon:
        return VerdictResult("watch", 7, (trend_sentence(trend),))
    return VerdictResult("keep", 8, ("every criterion passes", gate.evidence))


def notice_kind(verdict: Verdict) -> NoticeKind:
    """What the owner is sent: nothing for keep, else a notice named after the verdict."""
    return None if verdict == "keep" else verdict


def trend_sentence(trend: TrendSummary) -> str:
    """The trend in one sentence."""
    if trend.slope_per_quarter is None:
        return (
            f"trend not fitted: {len(trend.points)} quarter(s) of data, {trend.min_points} needed"
        )
    head = f"{trend.metric} changes {trend.slope_per_quarter:+.3f} per quarter"
    if trend.projected_erosion_quarter is None:
        return f"{head}; no erosion projected"
    when = (
        "now"
        if trend.quarters_to_erosion == 0
        else f"in {trend.projected_erosion_quarter} ({trend.quarters_to_erosion} quarter(s))"
    )
    inside = "within" if trend.within_horizon else "beyond"
    return (
        f"{head}; projected to reach {trend.threshold:g} {when}, {inside} the "
        f"{trend.horizon_quarters}-quarter warning horizon"
    )


def recommended_action(
    verdict: Verdict,
    *,
    rule: int,
    fine_tune: str,
    buy: str,
    buy_route: str,
    next_review: str,
    savings_usd: float | None,
) -> str:
    """What the owner should do next, in one or two sentences."""
    if verdict == "keep":
        return f"Keep {fine_tune} in production; the next review is on {next_review}."
    if verdict == "watch":
        why = (
            "the advantage is projected to erode within the warning horizon"
            if rule == 7
            else "resolve the borderline or missing evidence"
        )
        return (
            f"Keep {fine_tune} for now but prepare the switch to {buy} ({buy_route}): "
            f"{why} before the next review on {next_review}."
        )
    if verdict == "retire":
        money = (
            ""
            if savings_usd is None or savings_usd > 0
            else f" Switching saves about ${-savings_usd:,.0f} per month."
        )
        return (
            f"Retire {fine_tune}: route the workload to {buy} ({buy_route}) and "
            f"decommission the fine-tune's serving capacity.{money}"
        )
    fix = {
        1: "add items to the eval set until it reaches the minimum, then `relitigate sync` "
        "and `relitigate run` this quarter again (an inconclusive quarter is re-decided)",
        2: "`relitigate run` this quarter again once the provider errors have cleared: it "
        "retries only the errored items (answered items are not paid again) and decides again",
        4: "add eval items to narrow the interval, then `relitigate sync` and `relitigate "
        "run` this quarter again (an inconclusive quarter is re-decided)",
    }.get(rule, "`relitigate run` this quarter again (an inconclusive quarter is re-decided)")
    return f"No verdict this quarter; {fix}. {fine_tune} stays in production meanwhile."
