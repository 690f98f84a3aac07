"""The quarter digest from recorded decisions: pure mapping, and when it can be written."""

from __future__ import annotations

import math
from typing import Any

import pytest

from tasks.notify import build_digest_payload, digest_entry, payload_as_text
from tasks.notify.digest import (
    DigestDataError,
    RecordedDecision,
    digest_line,
    plan_quarter_digest,
)
from tasks.notify.facts import DigestFacts, DigestLine, Interval


def recorded(
    workload: str,
    verdict: str = "retire",
    *,
    ratio: dict[str, Any] | None = None,
    savings: Any = -14250.0,
    erosion: str | None = None,
) -> RecordedDecision:
    """A decision as ``tasks.decide`` stores it (``metrics`` and ``trend`` JSON)."""
    return RecordedDecision(
        workload=workload,
        verdict=verdict,
        metrics={
            "n_items": 220,
            "ratio": ratio
            if ratio is not None
            else {"value": 0.912, "low": 0.884, "high": 0.941, "method": "bootstrap"},
            "money": {"net_monthly_savings_usd": savings, "volume_per_day": 12e6},
        },
        trend={"projected_erosion_quarter": erosion, "slope_per_quarter": -0.01},
    )


def test_a_line_has_the_verdict_ratio_with_its_interval_savings_and_erosion() -> None:
    line = digest_line(recorded("ticket-triage", "watch", erosion="2027Q2", savings=800))
    assert line == DigestLine(
        workload="ticket-triage",
        verdict="watch",
        quality_ratio=0.912,
        monthly_savings_usd=800.0,
        projected_erosion_quarter="2027Q2",
        quality_ratio_ci=Interval(0.884, 0.941),
    )


@pytest.mark.parametrize(
    ("ratio", "savings"),
    [
        ({}, None),
        ({"value": None, "low": None, "high": None}, math.nan),
        ({"value": math.nan, "low": 0.5, "high": math.inf}, "n/a"),
    ],
)
def test_missing_or_non_finite_numbers_are_left_out(ratio: dict[str, Any], savings: Any) -> None:
    line = digest_line(recorded("flaky", "inconclusive", ratio=ratio, savings=savings))
    assert (line.quality_ratio, line.quality_ratio_ci, line.monthly_savings_usd) == (
        None,
        None,
        None,
    )
    rows = build_digest_payload(DigestFacts("2026Q4", (line,)))["blocks"][1]["text"]["text"]
    assert rows == "• *flaky*: inconclusive"


def test_an_unknown_verdict_is_an_error_naming_the_workload() -> None:
    with pytest.raises(DigestDataError, match=r"ticket-triage.*'maybe'"):
        digest_line(recorded("ticket-triage", "maybe"))


def test_no_digest_while_a_workload_is_undecided() -> None:
    plan = plan_quarter_digest(
        "2026Q4", {"ticket-triage": recorded("ticket-triage"), "ocr": None, "asr": None}
    )
    assert plan.facts is None
    assert "2 workload(s) undecided (asr, ocr)" in plan.reason


def test_no_digest_without_workloads() -> None:
    plan = plan_quarter_digest("2026Q4", {})
    assert plan.facts is None and "no active workloads" in plan.reason


def test_the_digest_lists_every_workload_by_name() -> None:
    plan = plan_quarter_digest(
        "2026Q4",
        {
            "ocr": recorded("ocr", "keep", savings=5000),
            "ticket-triage": recorded("ticket-triage"),
        },
        flow_run_url="http://127.0.0.1:4200/runs/flow-run/1",
    )
    assert plan.facts is not None and plan.reason == ""
    assert [line.workload for line in plan.facts.lines] == ["ocr", "ticket-triage"]
    entry = digest_entry(plan.facts, platform_channel="C0PLATFORM")
    assert entry is not None and (entry.kind, entry.destination) == ("digest", "C0PLATFORM")
    text = payload_as_text(entry.payload)
    assert text.startswith("relitigate digest 2026Q4: 1 keep, 1 retire")
    assert "ticket-triage: retire, ratio 0.91 (95% CI 0.88–0.94), savings −$14,250/month" in text
    assert "ocr: keep, ratio 0.91 (95% CI 0.88–0.94), savings $5,000/month" in text
    assert "Prefect flow run (http://127.0.0.1:4200/runs/flow-run/1)" in text
    assert digest_entry(plan.facts, platform_channel=None) is None
