"""A run's running counts, and the :class:`~tasks.evaluation.types.RunSummary` they add up to.

Every runner (the API runner, the in-process GPU runner) adds each finished
:class:`~tasks.evaluation.types.ItemResult` here, tells its progress callback what
:meth:`Tally.add` returns, and builds its summary with :meth:`Tally.summary`, so the
counts, latency percentiles and GPU-hour cost mean the same whichever runner produced them.
"""

from __future__ import annotations

import statistics
from array import array
from dataclasses import dataclass, field
from decimal import Decimal

from tasks.evaluation.types import ItemResult, ProgressUpdate, RunStatus, RunSummary


@dataclass(frozen=True, slots=True)
class Timing:
    """How long a run took, and what its GPU-hour pricing makes of it."""

    startup_s: float
    """From the call until the first request left (or the first batch started)."""
    wall_s: float
    """From the first request to the last reply."""
    throughput_items_per_s: float
    gpu_cost_per_call_usd: Decimal | None = None
    """GPU-hour pricing only: its cost per call at the measured throughput."""


@dataclass(slots=True)
class Tally:
    """What one run of one candidate has done so far."""

    candidate: str
    total: int | None
    """Items this run will call, if known (skipped ones excluded)."""
    skipped: int = 0
    """Items that already had results: not called."""
    not_started: int = 0
    """Items left uncalled when the run stopped (budget cap, error)."""
    done: int = 0
    passed: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: Decimal = Decimal(0)
    judge_cost: Decimal = Decimal(0)
    latencies: array[float] = field(default_factory=lambda: array("d"))
    """Latency of each answered item, in milliseconds (errors excluded)."""
    model_version: str | None = None
    """The last model version a provider reported."""

    def add(self, r: ItemResult) -> ProgressUpdate:
        """Count one finished item; returns the progress to report."""
        self.done += 1
        self.passed += r.passed
        self.errors += r.error is not None
        self.prompt_tokens += r.prompt_tokens
        self.completion_tokens += r.completion_tokens
        self.cost += r.cost_usd
        self.judge_cost += r.judge_cost_usd
        if r.error is None:
            self.latencies.append(r.latency_ms)
        if r.model_version is not None:
            self.model_version = r.model_version
        return ProgressUpdate(
            candidate=self.candidate,
            done=self.done,
            total=self.total,
            passed=self.passed,
            errors=self.errors,
            cost_usd=self.cost,
        )

    def summary(
        self,
        *,
        route: str,
        status: RunStatus,
        reason: str | None,
        timing: Timing,
        model_version: str | None = None,
    ) -> RunSummary:
        """The run's summary.

        A run that ends with items not started is ``incomplete`` (unless ``reason`` already
        says why it stopped). Under GPU-hour pricing the cost is the per-call cost times the
        answered items; otherwise the sum of the results' costs.
        """
        p50 = p95 = None
        if len(self.latencies) >= 2:
            cuts = statistics.quantiles(self.latencies, n=100, method="inclusive")
            p50, p95 = cuts[49], cuts[94]
        elif self.latencies:
            p50 = p95 = self.latencies[0]
        per_call = timing.gpu_cost_per_call_usd
        cost = self.cost if per_call is None else per_call * (self.done - self.errors)
        if reason is None and self.not_started:
            status, reason = "incomplete", f"{self.not_started} items were not started"
        return RunSummary(
            candidate=self.candidate,
            route=route,
            status=status,
            reason=reason,
            items_total=self.skipped + self.done + self.not_started,
            items_skipped=self.skipped,
            items_done=self.done,
            items_passed=self.passed,
            items_errored=self.errors,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            cost_usd=cost,
            judge_cost_usd=self.judge_cost,
            startup_s=timing.startup_s,
            wall_s=timing.wall_s,
            throughput_items_per_s=timing.throughput_items_per_s,
            p50_latency_ms=p50,
            p95_latency_ms=p95,
            model_version=model_version or self.model_version,
            gpu_cost_per_call_usd=per_call,
        )
