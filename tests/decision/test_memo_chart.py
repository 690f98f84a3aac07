from datetime import date

from tasks.decision import (
    DecisionOutcome,
    HistoryPoint,
    Thresholds,
    decide,
    outcome_chart_png,
    render_memo,
    trend_chart_png,
)
from tests.decision.factory import binary, inputs, policy, side

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _outcome() -> DecisionOutcome:
    history = [
        HistoryPoint("2026Q1", 1.10, "keep", 0.88, 0.80, 0.00003, 0.0004, "buy"),
        HistoryPoint("2026Q2", 1.04, "keep", 0.87, 0.84, 0.00003, 0.00035, "buy"),
        HistoryPoint("2026Q3", 0.99, "watch", 0.87, 0.88, 0.00003, 0.0003, "buy"),
    ]
    ft = side("triage-ft", "fine_tune", binary(200, 150), errored=[i == 199 for i in range(200)])
    buy = side("gpt", "buy", binary(200, 190))
    other = side("haiku", "buy", binary(200, 180))
    return decide(
        inputs(ft, buy, other, pol=policy(adopted="2025Q1"), history=history),
        rng_seed=1,
        today=date(2026, 11, 25),
    )


def test_frame_practice1_memo_has_every_section_with_numbers() -> None:
    o = _outcome()
    memo = render_memo(o, chart_filename="chart.png")
    for needle in (
        "# Decision memo: ticket-triage, 2026Q4",
        "**Verdict: RETIRE**",
        "## Workload",
        "## Candidates",
        "`test/triage-ft`",
        "triage-ft-v1",
        "## Head-to-head",
        "Quality (mean score, 95% CI)",
        "Cost per useful task",
        "Latency p50 / p95",
        "Errored items",
        "1 (0.5%)",
        "McNemar",
        "## Gates",
        "quality_ratio",
        "frame: fine-tune case 1, quality bar",
        "## Verdict: retire",
        "## History and trend",
        "| 2026Q2 | 1.040 | keep |",
        "inside the 4-8 quarter useful life",
        "![Quality and cost per useful task by quarter](chart.png)",
        "## Reproducibility",
        "sha256:test",
        "Next review: 2027-01-01",
        "30.4 days/month",
        "haiku",
    ):
        assert needle in memo, needle
    assert o.memo == render_memo(o)  # the cached property renders with trend.png
    assert "(trend.png)" in o.memo
    assert "chart.png" not in render_memo(o, chart_filename=None)


def test_memo_survives_unknowns() -> None:
    ft = side("ft", "fine_tune", binary(200, 0))
    buy = side("buy", "buy", binary(200, 0))
    pol = policy(volume=None, adopted=None, task_stable=None)
    memo = decide(inputs(ft, buy, pol=pol), rng_seed=1, today=date(2026, 11, 25)).memo
    assert "n/a (nothing passed)" in memo
    assert "adoption quarter not recorded" in memo
    assert "unknown (volume not recorded)" in memo


def test_chart_is_a_png_for_history_and_for_an_outcome() -> None:
    o = _outcome()
    png = outcome_chart_png(o)
    assert png.startswith(PNG_MAGIC) and len(png) > 10_000
    bare = trend_chart_png([HistoryPoint("2026Q4", None)], Thresholds(), case="domain_expertise")
    assert bare.startswith(PNG_MAGIC)
