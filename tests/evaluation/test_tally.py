"""One tally for every runner: counts, progress, percentiles, GPU-hour cost, incomplete runs."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tasks.evaluation.tally import Tally, Timing
from tasks.evaluation.types import ItemResult


def _result(key: str, *, passed: bool, latency_ms: float, error: str | None = None) -> ItemResult:
    return ItemResult(
        item_key=key, output=None if error else "x", passed=passed, score=float(passed),
        prompt_tokens=10, completion_tokens=3, cost_usd=Decimal("0.01"),
        judge_cost_usd=Decimal("0.002"), latency_ms=latency_ms, attempts=1, error=error,
        error_kind="server" if error else None, model_version=None if error else "m-1",
    )  # fmt: skip


def _tally(*, not_started: int = 0) -> Tally:
    tally = Tally("ft", 5, skipped=2, not_started=not_started)
    for i, latency in enumerate([100.0, 200.0, 300.0]):
        tally.add(_result(f"k{i}", passed=i != 1, latency_ms=latency))
    last = tally.add(_result("k3", passed=False, latency_ms=999.0, error="HTTP 500"))
    assert (last.done, last.passed, last.errors, last.total) == (4, 2, 1, 5)
    assert last.cost_usd == Decimal("0.04")
    return tally


def test_counts_latencies_of_answers_only_and_the_items_total() -> None:
    timing = Timing(startup_s=0.5, wall_s=2.0, throughput_items_per_s=2.0)
    s = _tally().summary(route="r", status="complete", reason=None, timing=timing)
    assert (s.items_total, s.items_skipped, s.items_done) == (6, 2, 4)
    assert (s.items_passed, s.items_errored) == (2, 1)
    assert (s.prompt_tokens, s.completion_tokens) == (40, 12)
    assert s.cost_usd == Decimal("0.04") and s.judge_cost_usd == Decimal("0.008")
    assert s.p50_latency_ms == pytest.approx(200.0)  # the errored item's 999 ms is left out
    assert s.p95_latency_ms == pytest.approx(290.0)
    assert s.model_version == "m-1" and s.gpu_cost_per_call_usd is None


def test_gpu_hour_pricing_charges_answered_items_at_the_measured_rate() -> None:
    timing = Timing(1.0, 2.0, 2.0, gpu_cost_per_call_usd=Decimal("0.5"))
    s = _tally().summary(
        route="r", status="complete", reason=None, timing=timing, model_version="w"
    )
    assert s.cost_usd == Decimal("1.5")  # three answered items, the errored one is free
    assert s.model_version == "w"


def test_items_not_started_make_a_run_incomplete_unless_it_already_says_why() -> None:
    timing = Timing(0.0, 1.0, 1.0)
    s = _tally(not_started=1).summary(route="r", status="complete", reason=None, timing=timing)
    assert (s.status, s.reason, s.items_total) == ("incomplete", "1 items were not started", 7)
    failed = _tally(not_started=1).summary(route="r", status="failed", reason="boom", timing=timing)
    assert (failed.status, failed.reason) == ("failed", "boom")
