"""The decision memo: one markdown page per workload and quarter (the frame's Practice 1).

It names the workload, both candidates, the head-to-head numbers, every gate with its
evidence, the verdict and the action, the history with the trend, and what it takes to
reproduce the decision. Numbers only; the rules behind them live in ``verdict.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tasks.decision.measured_volume import measured_section
from tasks.decision.memo_format import (
    errors,
    est,
    latency,
    monthly,
    num,
    per_task,
    pricing,
    pvalue,
    sequential_section,
    table,
    usd,
)
from tasks.decision.trend import USEFUL_LIFE_QUARTERS, TrendSummary
from tasks.decision.verdict import trend_sentence

if TYPE_CHECKING:
    from tasks.decision.outcome import DecisionOutcome

_CASE_TEXT = {
    "cost_distillation": "cost distillation (frame: fine-tune case 1, token cost at scale)",
    "domain_expertise": "domain expertise (frame: fine-tune case 2, beyond prompting)",
}
_STATUS = {"pass": "pass", "fail": "**fail**", "unknown": "unknown"}


def render_memo(outcome: DecisionOutcome, *, chart_filename: str | None = "trend.png") -> str:
    """The memo as markdown; ``chart_filename`` is linked as the trend image (None: omit)."""
    parts = [
        _header(outcome),
        _workload(outcome),
        _candidates(outcome),
        _head_to_head(outcome),
        *measured_section(outcome.volume, outcome.drift),
        *([] if outcome.sequential is None else [sequential_section(outcome.sequential)]),
        _gates(outcome),
        _verdict(outcome),
        _history(outcome, chart_filename),
        _reproducibility(outcome),
    ]
    return "\n\n".join(parts).rstrip() + "\n"


def _header(o: DecisionOutcome) -> str:
    return "\n".join(
        [
            f"# Decision memo: {o.workload}, {o.quarter}",
            "",
            f"**Verdict: {o.verdict.upper()}** (fine-tune `{o.fine_tune.name}` vs buy "
            f"alternative `{o.buy.name}`), decided on {o.decided_on.isoformat()}.",
            "",
            f"**Recommended action.** {o.recommended_action}",
        ]
    )


def _workload(o: DecisionOutcome) -> str:
    volume = o.money.volume_per_day
    age = o.trend.quarters_since_adoption
    rows = [
        ("Case", _CASE_TEXT[o.case]),
        ("Production volume", "unknown" if volume is None else f"{volume:,.0f} calls/day"),
        ("Fine-tune fixed costs", f"{usd(o.money.fixed_costs_monthly_usd, 0)}/month"),
        ("Fine-tune age", "unknown" if age is None else f"{age} quarter(s) in production"),
        ("Eval items (paired)", f"{o.fine_tune.n_items}"),
    ]
    return "## Workload\n\n" + table(("Workload", o.workload), rows)


def _candidates(o: DecisionOutcome) -> str:
    rows = [
        (
            "fine-tune" if s.role == "fine_tune" else ("buy (compared)" if s is o.buy else "buy"),
            f"`{s.name}`",
            f"`{s.route}`",
            s.model_version or "unrecorded",
            pricing(s),
        )
        for s in (o.fine_tune, *o.buys)
    ]
    note = (
        f"Buy compared: `{o.buy.name}`. The fine-tune is tested against every buy "
        f"alternative ({o.comparison.correction}); the buy compared is the one that eroded "
        "it, else the one it saves least against when that fails, else its strongest "
        "challenger (smallest erosion p-value)."
    )
    header = ("Role", "Name", "Route", "Version", "Pricing")
    return "## Candidates\n\n" + table(header, rows) + "\n\n" + note


def _head_to_head(o: DecisionOutcome) -> str:
    ft, buy, m = o.fine_tune, o.buy, o.money
    rows = [
        ("Quality (mean score, 95% CI)", est(ft.quality), est(buy.quality)),
        ("Passed", f"{ft.n_passed} / {ft.n_items}", f"{buy.n_passed} / {buy.n_items}"),
        ("Errored items", errors(ft), errors(buy)),
        ("Cost per call", usd(ft.cost_per_call_usd, 6), usd(buy.cost_per_call_usd, 6)),
        (
            "Cost per useful task",
            per_task(ft.cost_per_useful_task_usd),
            per_task(buy.cost_per_useful_task_usd),
        ),
        (
            "Monthly cost at volume",
            monthly(m.fine_tune_monthly_variable_usd),
            monthly(m.buy_monthly_usd),
        ),
        ("Latency p50 / p95", latency(ft), latency(buy)),
        (
            "Tokens per call (prompt / completion)",
            f"{ft.mean_prompt_tokens:.0f} / {ft.mean_completion_tokens:.0f}",
            f"{buy.mean_prompt_tokens:.0f} / {buy.mean_completion_tokens:.0f}",
        ),
    ]
    c = o.comparison
    savings = m.net_monthly_savings_usd
    lines = [
        "## Head-to-head",
        "",
        table(("", f"fine-tune `{ft.name}`", f"buy `{buy.name}`"), rows),
        "",
        f"- Quality ratio fine-tune / buy: {est(c.ratio)}; score interval with the variance "
        "taken under the null (docs/statistics.md).",
        f"- Paired difference fine-tune - buy: {est(c.difference, signed=True)}.",
        f"- McNemar exact test on pass/fail: {o.mcnemar.fine_tune_only} items only the "
        f"fine-tune passed, {o.mcnemar.buy_only} only the buy passed, p = "
        f"{o.mcnemar.p_value:.3g}.",
        f"- Minimum detectable difference (80% power, alpha {o.thresholds.significance_alpha}): "
        f"{o.minimum_detectable_difference:.3f} score points with {ft.n_items} items.",
        "- Errored items count as failed in the point estimates; the ratio and difference "
        "intervals and tests also allow any score for them, so errors widen the intervals. "
        "Costs per call and per useful task come from answered calls only.",
        "- Net monthly savings of keeping the fine-tune (buy - fine-tune - fixed costs, "
        f"{m.days_per_month} days/month): "
        + ("unknown (volume not recorded)" if savings is None else usd(savings, 0))
        + ".",
    ]
    lines += ["", _every_buy(o)]
    return "\n".join(lines)


def _every_buy(o: DecisionOutcome) -> str:
    rows = [
        (
            f"`{b.name}`" + (" (compared)" if b is o.buy else ""),
            est(b.quality),
            per_task(b.cost_per_useful_task_usd),
            errors(b),
            est(cmp.ratio if o.case == "cost_distillation" else cmp.difference),
            pvalue(cmp.p_eroded),
            pvalue(cmp.p_adjusted),
            "yes" if cmp.holds else "no",
        )
        for b, cmp in zip(o.buys, o.comparisons, strict=True)
    ]
    measure = "Ratio" if o.case == "cost_distillation" else "Difference"
    header = (
        "Buy",
        "Quality",
        "Cost per useful task",
        "Errors",
        f"{measure} vs fine-tune",
        "Erosion p",
        "Adjusted p",
        "Holds",
    )
    return (
        f"Every buy alternative ({o.comparison.correction}; erosion is found when an "
        f"adjusted p-value is below {o.thresholds.significance_alpha / 2:g}):\n\n"
        + table(header, rows)
    )


def _gates(o: DecisionOutcome) -> str:
    rows = [(g.name, _STATUS[g.status], g.evidence, g.rule) for g in o.gates]
    return "## Gates\n\n" + table(("Gate", "Status", "Evidence", "Rule"), rows)


def _verdict(o: DecisionOutcome) -> str:
    reasons = "\n".join(f"- {r}" for r in o.reasons)
    return (
        f"## Verdict: {o.verdict}\n\nDecided by rule {o.rule} of the verdict rules "
        f"(`tasks/decision/verdict.py`).\n\n{reasons}\n\n{o.recommended_action}\n\n"
        f"Repeated testing: {o.repeated.sentence()}."
    )


def _history(o: DecisionOutcome, chart_filename: str | None) -> str:
    metric = o.trend.metric
    rows = [
        (
            p.quarter,
            num(p.advantage),
            p.verdict or "",
            num(p.fine_tune_quality),
            num(p.buy_quality),
            per_task(p.fine_tune_cost_per_useful_task),
            per_task(p.buy_cost_per_useful_task),
        )
        for p in [*o.history, o.history_point()]
    ]
    header = (
        "Quarter",
        metric.capitalize(),
        "Verdict",
        "Fine-tune quality",
        "Buy quality",
        "Fine-tune $/useful task",
        "Buy $/useful task",
    )
    lines = [
        "## History and trend",
        "",
        table(header, rows),
        "",
        f"- Trend: {trend_sentence(o.trend)}.",
        f"- Age: {_age_sentence(o.trend)}",
    ]
    if chart_filename:
        lines += ["", f"![Quality and cost per useful task by quarter]({chart_filename})"]
    return "\n".join(lines)


def _age_sentence(trend: TrendSummary) -> str:
    low, high = USEFUL_LIFE_QUARTERS
    age = trend.quarters_since_adoption
    window = f"the {low}-{high} quarter useful life the frame expects"
    if age is None:
        return f"adoption quarter not recorded, so it cannot be placed against {window}."
    where = {
        "early": "before",
        "expected_window": "inside",
        "past_expected": "past",
    }[trend.life_stage]
    return f"{age} quarter(s) in production: {where} {window}."


def _reproducibility(o: DecisionOutcome) -> str:
    r = o.reproducibility
    ft = r["fine_tune"]
    judge = r["judge"]
    lines = [
        "## Reproducibility",
        "",
        f"- Eval set: `{r['eval_set_hash']}` ({r['n_items']} items)",
        f"- Fine-tune: `{ft['route']}` version {ft['model_version'] or 'unrecorded'}",
        *(f"- Buy: `{b['route']}` version {b['model_version'] or 'unrecorded'}" for b in r["buys"]),
        "- Judge: " + _judge(judge),
        f"- Statistics: {r['method']} (deterministic; run seed {r['seed']} recorded)",
        f"- Thresholds: {_thresholds(o)}",
        f"- Engine version {r['engine_version']}, numpy {r['numpy_version']}",
        f"- Next review: {r['next_review_date']}",
    ]
    return "\n".join(lines)


def _judge(judge: dict[str, str | None] | None) -> str:
    if judge is None:
        return "none (deterministic scorer)"
    return f"`{judge['route']}` version {judge['version'] or 'unrecorded'}"


def _thresholds(o: DecisionOutcome) -> str:
    t = o.thresholds
    return (
        f"quality ratio >= {t.quality_ratio_min}, volume >= {t.min_volume_per_day:,.0f}/day, "
        f"examples >= {t.min_training_examples:,}, items >= {t.min_items}, errors <= "
        f"{t.max_error_rate:.0%} per side, domain margin {t.domain_margin_min:+}, horizon "
        f"{t.warning_horizon_quarters} quarters"
    )
