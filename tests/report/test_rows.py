"""Pure report rows: records in, rows, totals and documents out (and a DataFrame for CSV)."""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys
from typing import Any

import pytest

from tasks.report.document import history_document, report_document
from tasks.report.frame import frame_of
from tasks.report.records import DecisionRecord
from tasks.report.render import csv_text, markdown_text
from tasks.report.rows import COLUMNS, decision_rows, flatten, latest_per_workload, totals


def record(workload: str, quarter: str | None, verdict: str | None, **kw: Any) -> DecisionRecord:
    savings = kw.pop("savings", 100.0)
    case = kw.pop("case", "cost_distillation")
    metrics = {
        "n_items": 400,
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
    assert list(row) == list(COLUMNS)
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


def test_decision_rows_sort_by_workload_then_quarter_undecided_first() -> None:
    records = [
        record("b", "2026Q1", "keep"),
        record("a", "2026Q2", "keep"),
        record("a", None, None),
        record("a", "2026Q1", "watch"),
    ]
    rows = decision_rows(records)
    assert [(r["workload"], r["quarter"]) for r in rows] == [
        ("a", None), ("a", "2026Q1"), ("a", "2026Q2"), ("b", "2026Q1"),
    ]  # fmt: skip


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
    rows = latest_per_workload(decision_rows(records), quarter)
    assert {r["workload"]: (r["quarter"], r["verdict"]) for r in rows} == expected
    assert rows[-1]["workload"] == "c"  # undecided last
    for row in rows:
        assert list(row) == list(COLUMNS)
        if row["verdict"] is None:  # who the workload is stays; the decision is blank
            assert row["case"] == "cost_distillation"
            assert row["failed_gates"] == [] and row["reasons"] == []
            assert row["quality_ratio"] is None and row["n_items"] is None


def test_totals_and_document() -> None:
    records = [
        record("a", "2026Q1", "retire", savings=300.0, notice_kind="retire", notice_status="sent"),
        record("b", "2026Q1", "watch", savings=-50.0, notice_kind="watch", notice_status="sending"),
        record("c", "2026Q1", "keep", savings=1000.0),
        record("d", "2026Q1", "inconclusive", savings=None),
        record("e", "2026Q1", "watch", savings=0.1, notice_kind="watch", notice_status="pending"),
    ]
    report = latest_per_workload(decision_rows(records))
    t = totals(report)
    assert t["verdicts"] == {"keep": 1, "watch": 2, "retire": 1, "inconclusive": 1}
    assert t["savings_at_stake_monthly_usd"] == 300.1
    assert t["net_monthly_savings_usd"] == 1250.1
    assert t["fine_tunes_to_retire"] == 1
    assert t["notices_pending"] == 2  # pending, and sending (not delivered yet)
    doc = report_document(report, quarter=None, generated_at="2026-11-25T00:00:00+00:00")
    assert [w["workload"] for w in doc["workloads"]] == ["a", "b", "e", "d", "c"]
    assert doc["workloads"][3]["net_monthly_savings_usd"] is None
    assert isinstance(doc["workloads"][0]["quarters_since_adoption"], int)
    assert "a,2026Q1,retire" in csv_text(report).replace("cost_distillation,,", "")
    assert "| a | 2026Q1 | retire |" in markdown_text(doc, title="t")


def test_history_document_keeps_decided_quarters_oldest_first() -> None:
    rows = decision_rows([record("a", "2026Q2", "keep"), record("a", "2026Q1", "watch")])
    doc = history_document(rows, workload="a", case="cost_distillation", generated_at="t")
    assert [q["quarter"] for q in doc["quarters"]] == ["2026Q1", "2026Q2"]
    assert history_document([], workload="a", case="c", generated_at="t")["quarters"] == []


def test_frame_holds_the_same_values_as_the_rows() -> None:
    records = [record("a", "2026Q1", "retire"), record("b", None, None)]
    rows = latest_per_workload(decision_rows(records), "2026Q1")
    frame = frame_of(rows)
    assert list(frame.columns) == list(COLUMNS)
    assert str(frame["n_items"].dtype) == "Int64"
    back = frame.astype(object).where(frame.notna(), None).to_dict("records")
    assert back == rows
    assert frame_of([]).empty


def test_csv_formats_floats_alike_in_every_row() -> None:
    """Rows without a decision do not turn float columns into full-precision text."""
    rec = record("a", "2026Q1", "keep")
    rec.metrics["ratio"]["value"] = 1 / 3  # type: ignore[index]
    text = csv_text(latest_per_workload(decision_rows([rec, record("b", None, None)]), "2026Q1"))
    assert "0.3333333333," in text and "0.33333333333333" not in text


def test_empty_registry() -> None:
    report = latest_per_workload(decision_rows([]))
    assert report == []
    t = totals(report)
    assert t["workloads"] == 0 and t["net_monthly_savings_usd"] == 0.0
    assert csv_text(report).startswith("workload,case,")


def test_rows_documents_and_tables_do_not_import_pandas() -> None:
    code = (
        "import sys\n"
        "from tasks.report.rows import decision_rows, latest_per_workload\n"
        "from tasks.report.document import report_document\n"
        "from tasks.report.render import markdown_text\n"
        "from tasks.report import service\n"
        "doc = report_document(latest_per_workload(decision_rows([])), quarter=None,"
        " generated_at='t')\n"
        "markdown_text(doc, title='t')\n"
        "bad = [m for m in ('pandas', 'numpy', 'matplotlib') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_sequential_stop_shows_items_used_and_the_saving() -> None:
    full = flatten(record("w", "2026Q2", "keep"))
    assert (full["eval_set_items"], full["stopped_at_wave"]) == (400, None)
    assert (full["frontier_calls_share"], full["frontier_spend_saved_usd"]) == (1.0, 0.0)
    stopped = record("w", "2026Q2", "retire")
    waves = {"items_total": 400, "stopped_at_wave": 1, "share_called": 0.5, "saved_usd": 0.25}
    metrics = {**stopped.metrics, "n_items": 200, "sequential": waves}
    row = flatten(dataclasses.replace(stopped, metrics=metrics))
    assert (row["n_items"], row["eval_set_items"], row["stopped_at_wave"]) == (200, 400, 1)
    assert (row["frontier_calls_share"], row["frontier_spend_saved_usd"]) == (0.5, 0.25)
    assert flatten(record("w", None, None))["frontier_calls_share"] is None
