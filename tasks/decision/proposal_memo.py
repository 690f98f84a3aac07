"""The proposal memo: buy, fine-tune or build, in the decision frame's terms, before any
engineering work (the frame's Practices 1 and 2)."""

from __future__ import annotations

import math

from tasks.decision.memo_format import est, per_task, table, usd
from tasks.decision.proposal import ProposalOutcome

_VERB = {
    "buy": "BUY: use the best well-prompted buy alternative; build nothing",
    "fine_tune": "FINE-TUNE: the frame's gates for a fine-tune fire",
    "build": "BUILD: every build gate fires",
}
_STATUS = {"pass": "pass", "fail": "**fail**", "unknown": "unknown"}


def render_proposal_memo(o: ProposalOutcome, *, decided_on: str) -> str:
    """The memo as markdown."""
    f, best = o.facts, o.best
    parts = [
        f"# Proposal memo: {f.name}\n\n**Recommendation: {_VERB[o.recommendation]}.** "
        f"Checked on {decided_on}, before any engineering work.\n\n"
        + "\n".join(f"- {r}" for r in o.reasons),
        "## Facts\n\n" + table(("Fact", "Value"), _facts(o)),
        "## Head-to-head: every buy alternative under every prompt variant\n\n"
        + table(
            (
                "Buy",
                "Prompt variant",
                "Quality (95% CI)",
                "Passed",
                "Cost per call",
                "Cost per useful task",
            ),
            [
                (
                    f"`{r.buy}`" + (" **best**" if r is best else ""),
                    r.variant,
                    est(r.summary.quality),
                    f"{r.summary.n_passed} / {r.summary.n_items}",
                    usd(r.summary.cost_per_call_usd, 6),
                    per_task(r.summary.cost_per_useful_task_usd),
                )
                for r in o.runs
            ],
        )
        + "\n\nWhere quality stops improving (later variants adding under one point do not "
        "count):\n\n" + "\n".join(f"- {p.sentence()}" for p in o.plateaus),
        _checkpoint(o),
        "## Gates\n\n"
        + table(
            ("Gate", "Status", "Evidence", "Rule"),
            [(g.name, _STATUS[g.status], g.evidence, g.rule) for g in (*o.gates, *o.build_gates)],
        ),
    ]
    return "\n\n".join(parts).rstrip() + "\n"


def _facts(o: ProposalOutcome) -> list[tuple[str, str]]:
    f = o.facts
    volume = "unknown" if f.volume_per_day is None else f"{f.volume_per_day:,.0f} calls/day"
    if f.volume is not None:
        volume += (
            f" (measured: {f.volume.source})"
            if f.volume.error is None
            else (f" (source unreadable: {f.volume.error})")
        )
    be = o.break_even_volume_per_day
    be_text = (
        "unknown (no fine-tune cost per call)"
        if be is None
        else "never (the fine-tune is not cheaper per call)"
        if math.isinf(be)
        else f"{be:,.0f} calls/day (fixed ${f.fixed_costs_monthly_usd:,.0f}/month / per-call "
        f"saving x {30.4} days)"
    )
    return [
        ("Case", f.case.replace("_", " ")),
        ("Production volume", volume),
        ("Fine-tune fixed costs", f"${f.fixed_costs_monthly_usd:,.0f}/month"),
        (
            "Fine-tune cost per call",
            "unknown"
            if o.fine_tune_cost_per_call_usd is None
            else usd(o.fine_tune_cost_per_call_usd, 6),
        ),
        ("Break-even volume", be_text),
        (
            "Training examples",
            "unknown" if f.training_examples is None else f"{f.training_examples:,}",
        ),
        ("Quality target", "none" if f.quality_target is None else f"{f.quality_target:.3f}"),
    ]


def _checkpoint(o: ProposalOutcome) -> str:
    ft, best = o.fine_tune, o.best
    if ft is None:
        return "## Candidate checkpoint\n\nNone run: the fine-tune side is the declared cost only."
    rows = [
        ("Quality (95% CI)", est(ft.quality), est(best.summary.quality)),
        ("Cost per call", usd(ft.cost_per_call_usd, 6), usd(best.summary.cost_per_call_usd, 6)),
        (
            "Cost per useful task",
            per_task(ft.cost_per_useful_task_usd),
            per_task(best.summary.cost_per_useful_task_usd),
        ),
    ]
    header = ("", f"checkpoint `{ft.name}`", f"best buy `{best.buy}` ({best.variant})")
    return "## Candidate checkpoint against the best buy\n\n" + table(header, rows)
