"""Pure report tables: records in, DataFrames and totals out."""

from __future__ import annotations

import math
from typing import Any

import pytest

from tasks.report.document import report_document
from tasks.report.frame import COLUMNS, decisions_frame, flatten, latest_per_workload, totals
from tasks.report.records import DecisionRecord
from tasks.report.render import csv_text, markdown_text


def record(workload: str, quarter: str | None, verdict: str | None, **kw: Any) -> DecisionRecord:
    savings = kw.pop("savings", 100.0)
    case = kw.pop("case", "cost_distillation")
    metrics = {
        "fine_tune": {"name": "ft", "quality": {"value": 0.9, "low": 0.85, "high": 0.93}},
        "buy": {"name": "b", "route": "openai/b", "quality": {"value": 0.8}},
        "ratio": {"value": 1.125, "low": 1.0, "high": 1.2},
        "difference": {"value": 0.1, "low": 0.05, "high": 0.15},
        "money": {"net_monthly_savings_usd": savings},
    }
    return DecisionRecord(
        workload=workload,
        case=case,
        quarter=quarter,
        verdict=verdict,
        metrics=metrics if verdict else {},
        adopted_quarter="2025Q1",
        **kw,
    )


def test_flatten_has_every_column_and_derives_age_and_advantage() -> None:
    row = flatten(record("w", "2026Q2", "keep", case="domain_expertise"))
    assert set(row) == set(COLUMNS)
    assert row["advantage_metric"] == "quality difference"
    assert row["advantage"] == 0.1  # the domain case judges the difference
    assert row["quality_ratio"] == 1.125
    assert row["quarters_since_adoption"] == 5  # 2025Q1 -> 2026Q2
    assert row["buy_quality_low"] is None


def test_flatten_drops_non_finite_numbers() -> None:
    bad = DecisionRecord(
        workload="w",
        case="cost_distillation",
        quarter="2026Q1",
        verdict="inconclusive",
        metrics={"ratio": {"value": math.inf}, "money": {"net_monthly_savings_usd": "x"}},
        gates=[{"name": "eval_items", "status": "fail"}, {"name": "v", "status": "pass"}],
    )
    row = flatten(bad)
    assert row["quality_ratio"] is None
    assert row["net_monthly_savings_usd"] is None
    assert row["failed_gates"] == ["eval_items"]


@pytest.mark.parametrize(
    ("quarter", "expected"),
    [
        (None, {"a": ("2026Q3", "retire"), "b": ("2026Q2", "keep"), "c": (None, None)}),
        ("2026Q2", {"a": ("2026Q2", "watch"), "b": ("2026Q2", "keep"), "c": (None, None)}),
        ("2026Q3", {"a": ("2026Q3", "retire"), "b": (None, None), "c": (None, None)}),
    ],
)
def test_latest_per_workload(quarter: str | None, expected: dict[str, Any]) -> None:
    records = [
        record("a", "2026Q3", "retire"),
        record("a", "2026Q1", "keep"),
        record("a", "2026Q2", "watch"),
        record("b", "2026Q2", "keep"),
        record("c", None, None),
    ]
    frame = latest_per_workload(decisions_frame(records), quarter)
    got = {
        r.workload: (r.quarter, r.verdict)
        for r in frame.astype(object).where(frame.notna(), None).itertuples()
    }
    assert got == expected
    assert list(frame["workload"])[-1] == "c"  # undecided last


def test_totals_and_document() -> None:
    records = [
        record("a", "2026Q1", "retire", savings=300.0, notice_kind="retire", notice_status="sent"),
        record("b", "2026Q1", "watch", savings=-50.0),
        record("c", "2026Q1", "keep", savings=1000.0),
        record("d", "2026Q1", "inconclusive", savings=None),
    ]
    report = latest_per_workload(decisions_frame(records))
    t = totals(report)
    assert t["verdicts"] == {"keep": 1, "watch": 1, "retire": 1, "inconclusive": 1}
    assert t["savings_at_stake_monthly_usd"] == 300.0
    assert t["net_monthly_savings_usd"] == 1250.0
    assert t["fine_tunes_to_retire"] == 1
    assert t["notices_pending"] == 0
    doc = report_document(report, quarter=None, generated_at="2026-11-25T00:00:00+00:00")
    assert [w["workload"] for w in doc["workloads"]] == ["a", "b", "d", "c"]
    assert doc["workloads"][2]["net_monthly_savings_usd"] is None
    assert isinstance(doc["workloads"][0]["quarters_since_adoption"], int)
    assert "a,2026Q1,retire" in csv_text(report).replace("cost_distillation,,", "")
    assert "| a | 2026Q1 | retire |" in markdown_text(doc, title="t")


def test_empty_registry() -> None:
    report = latest_per_workload(decisions_frame([]))
    assert report.empty
    t = totals(report)
    assert t["workloads"] == 0 and t["net_monthly_savings_usd"] == 0.0
