"""One pass of a benchmark: call the items the registry says are still to call, checkpoint
every result, and close the pass with its own statistics.

:func:`run_pass` opens (or resumes) the run, replays a killed try's journal, asks
:func:`registry.runs.items_to_call` what to call (attempts count across tries), and hands the
rest to the engine that fits the candidate's runner. :func:`retry_pass` grants the run one more
retry level (:func:`registry.runs.grant_retry_pass`) after a cooldown, and runs a pass over the
errored items that frees. The caller (:mod:`tasks.benchmark`) holds the benchmark's lease.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
from sqlalchemy.orm import Session, sessionmaker

from registry.models import RunStatus
from registry.runs import (
    ItemResultRow,
    ItemsToCall,
    finish_run,
    get_run,
    grant_retry_pass,
    items_to_call,
    open_run,
    write_item_results,
)
from tasks import mapping
from tasks.batch_ledger import RegistryBatchLedger
from tasks.benchmark_job import BenchJob, scorer_and_credentials
from tasks.context import RegistryContext
from tasks.evaluation.errors import EvaluationError
from tasks.evaluation.types import ItemResult, ProgressCallback, RunSummary
from tasks.journal import ResultJournal, journal_path
from tasks.progress_log import Log

if TYPE_CHECKING:
    from tasks.gpu.throughput import ThroughputReport


class RegistrySink:
    """The engine's result sink: batched upserts into the run's checkpoint rows, and each
    result journaled to local disk as it arrives (see :mod:`tasks.journal`).

    ``prior_attempts`` are the attempts an item already had in this run: they are added to
    its new result's, so the stored count is the item's total (and a replayed journal line,
    which carries the total, writes the same row again)."""

    def __init__(
        self,
        run_id: int,
        sessions: sessionmaker[Session],
        journal: ResultJournal | None = None,
        prior_attempts: Mapping[str, int] | None = None,
    ) -> None:
        self.run_id = run_id
        self.sessions = sessions
        self.journal = journal
        self.prior_attempts = dict(prior_attempts or {})
        self.written = 0
        self.batch_ledger = RegistryBatchLedger(run_id, sessions)
        """Where a ``limits.batch`` candidate's provider batches are recorded (resumable)."""

    def row(self, result: ItemResult) -> ItemResultRow:
        """The checkpoint row of one result, its attempts counted across tries."""
        row = mapping.result_row(result)
        earlier = self.prior_attempts.get(row.item_key, 0)
        return dataclasses.replace(row, attempts=row.attempts + earlier) if earlier else row

    def record(self, result: ItemResult) -> None:
        if self.journal is not None:
            self.journal.record(self.row(result))

    async def write(self, results: Sequence[ItemResult]) -> None:
        rows = [self.row(r) for r in results]
        await anyio.to_thread.run_sync(self._write, rows)

    def _write(self, rows: list[ItemResultRow]) -> None:
        with self.sessions.begin() as session:
            write_item_results(session, self.run_id, rows)
        self.written += len(rows)


@dataclass
class PassTotals:
    """What the passes of one benchmark called and spent (``skipped``: by the first)."""

    called: int = 0
    skipped: int = 0
    retried: int = 0
    cost_usd: float = 0.0


@dataclass(frozen=True)
class Bench:
    """What every pass of one benchmark shares."""

    ctx: RegistryContext
    job: BenchJob
    budget_usd: float | None
    progress: ProgressCallback | None
    totals: PassTotals = dataclasses.field(default_factory=PassTotals)


@dataclass(frozen=True)
class PassResult:
    """How a pass left the run."""

    run_id: int
    status: str
    reason: str | None


async def run_pass(bench: Bench, *, kind: str = "main") -> PassResult:
    """Open (or resume) the run and call every item :func:`items_to_call` allows."""
    job, sessions = bench.job, bench.ctx.sessions

    def prepare() -> tuple[int, ItemsToCall, ResultJournal]:
        with sessions.begin() as session:
            run = open_run(session, candidate_id=job.candidate_id,
                           eval_set_version_id=job.version_id, quarter=job.quarter,
                           budget_usd=bench.budget_usd, attempt=job.attempt)  # fmt: skip
            path = journal_path(bench.ctx.settings.data_dir, bench.ctx.registry_url, run.id)
            journal = ResultJournal(path)
            write_item_results(session, run.id, journal.rows())  # what a killed try received
            todo = items_to_call(session, run.id, max_attempts=job.spec.limits.max_attempts)
            return run.id, todo, journal

    run_id, todo, journal = await anyio.to_thread.run_sync(prepare)
    journal.discard()  # the registry holds it now; this try journals afresh
    if kind == "main":
        bench.totals.skipped = len(todo.skip_keys)
    if all(item.key in todo.skip_keys for item in job.items):  # a wave: job.items is a part
        return PassResult(run_id, await anyio.to_thread.run_sync(_complete, sessions, run_id), None)
    sink = RegistrySink(run_id, sessions, journal, todo.prior_attempts)
    summary, stats = await call_engine(bench, todo.skip_keys, sink, kind=kind)
    bench.totals.called += summary.items_done
    bench.totals.cost_usd += float(summary.cost_usd)
    if kind == "retry":
        bench.totals.retried += summary.items_done
    # A retry pass revisits items that all have a result: the run stays complete.
    status = summary.status if kind == "main" else RunStatus.COMPLETE.value

    def finish() -> None:
        with sessions.begin() as session:
            finish_run(session, run_id, status, {"pass": kind, **stats}, summary.model_version)

    await anyio.to_thread.run_sync(finish)
    journal.discard()
    return PassResult(run_id, summary.status, summary.reason)


def _complete(sessions: sessionmaker[Session], run_id: int) -> str:
    """Close a run with nothing left to call (complete, unless it already is)."""
    with sessions.begin() as session:
        run = get_run(session, run_id)
        if run.status != RunStatus.COMPLETE:
            run = finish_run(session, run_id, RunStatus.COMPLETE, None, None)
        return run.status.value


async def retry_pass(bench: Bench, run_id: int, *, level: int, cooldown_s: float, log: Log) -> None:
    """Grant the run retry passes up to ``level`` and call the errored items that frees."""
    sessions, job = bench.ctx.sessions, bench.job

    def pending() -> tuple[int, int]:
        with sessions.begin() as session:
            run = get_run(session, run_id)
            todo = items_to_call(session, run_id, max_attempts=job.spec.limits.max_attempts)
            return run.retry_passes, todo.retryable

    granted, retryable = await anyio.to_thread.run_sync(pending)
    if granted >= level or retryable == 0:
        return
    log.info("%s: %d errored item(s) get a retry pass in %g s", job.label, retryable, cooldown_s)
    await asyncio.sleep(cooldown_s)

    def grant() -> None:
        with sessions.begin() as session:
            grant_retry_pass(session, run_id, level)

    await anyio.to_thread.run_sync(grant)
    await run_pass(bench, kind="retry")


async def call_engine(
    bench: Bench, skip: frozenset[str], sink: RegistrySink, *, kind: str
) -> tuple[RunSummary, dict[str, Any]]:
    """One pass of the engine that fits the candidate's runner over the items not skipped."""
    job = bench.job
    scorer, credentials = await anyio.to_thread.run_sync(
        scorer_and_credentials, job.scorer_raw, [job.spec]
    )
    stats: dict[str, Any] = {}
    try:
        if job.runner in ("vllm", "transformers"):
            from tasks.gpu.runners import run_self_hosted

            hosted = await run_self_hosted(
                job.runner, job.spec, job.serving, job.items, scorer=scorer, skip_keys=skip,
                sink=sink, budget_usd=bench.budget_usd, progress=bench.progress,
            )  # fmt: skip
            summary = hosted.summary
            stats.update(throughput_stats(hosted.throughput))
        else:
            from tasks.evaluation.runner import run_candidate

            summary = await run_candidate(
                job.spec, job.items, scorer=scorer, skip_keys=skip, sink=sink, env=credentials,
                budget_usd=bench.budget_usd, progress=bench.progress, flush_interval_s=job.flush_s,
            )  # fmt: skip
    except EvaluationError as exc:
        await anyio.to_thread.run_sync(_fail, bench.ctx.sessions, sink.run_id, exc, kind)
        if sink.journal is not None:
            sink.journal.discard()
        raise
    finally:
        if sink.journal is not None:
            sink.journal.close()  # kept on disk if the registry may lack some of it
    stats.update(summary_stats(summary))
    return summary, stats


def _fail(sessions: sessionmaker[Session], run_id: int, exc: EvaluationError, kind: str) -> None:
    """Record the run as failed, with the statistics of what the engine did before."""
    failed: RunSummary | None = getattr(exc, "summary", None)
    with sessions.begin() as session:
        finish_run(
            session, run_id, RunStatus.FAILED,
            {"pass": kind, **(summary_stats(failed) if failed else {})}, None, error=str(exc),
        )  # fmt: skip


def summary_stats(summary: RunSummary) -> dict[str, Any]:
    """A pass's statistics as the run stores them."""
    return {
        "items_total": summary.items_total,
        "items_done": summary.items_done,
        "items_skipped": summary.items_skipped,
        "items_passed": summary.items_passed,
        "items_errored": summary.items_errored,
        "prompt_tokens": summary.prompt_tokens,
        "completion_tokens": summary.completion_tokens,
        "cost_usd": str(summary.cost_usd),
        "judge_cost_usd": str(summary.judge_cost_usd),
        "startup_s": summary.startup_s,
        "wall_s": summary.wall_s,
        "throughput_items_per_s": summary.throughput_items_per_s,
        "p50_latency_ms": summary.p50_latency_ms,
        "p95_latency_ms": summary.p95_latency_ms,
        "gpu_cost_per_call_usd": (
            None if summary.gpu_cost_per_call_usd is None else str(summary.gpu_cost_per_call_usd)
        ),
        "reason": summary.reason,
    }


def throughput_stats(report: ThroughputReport) -> dict[str, Any]:
    """A self-hosted pass's measured throughput as the run stores it."""
    return {
        "hardware": report.hardware,
        "device": report.device,
        "batch_size": report.batch_size,
        "items_per_s": report.items_per_s,
        "output_tokens_per_s": report.output_tokens_per_s,
        "throughput": report.describe(),
    }
