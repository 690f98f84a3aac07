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
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
from sqlalchemy.orm import Session, sessionmaker

from registry.models import Candidate, RunStatus
from registry.queries import load_workload
from registry.runs import (
    ItemResultRow,
    ItemsToCall,
    finish_run,
    get_run,
    grant_retry_pass,
    items_to_call,
    latest_attempt,
    open_run,
    write_item_results,
)
from tasks import mapping
from tasks.evaluation.errors import EvaluationError
from tasks.evaluation.types import CandidateSpec, EvalItem, ItemResult, RunSummary
from tasks.journal import ResultJournal, journal_path
from tasks.runtime import registry_sessions, settings

if TYPE_CHECKING:
    from tasks.evaluation.scorers import Scorer
    from tasks.gpu.throughput import ThroughputReport

Log = logging.Logger | logging.LoggerAdapter[logging.Logger]


class RegistrySink:
    """The engine's result sink: batched upserts into the run's checkpoint rows, and each
    result journaled to local disk as it arrives (see :mod:`tasks.journal`).

    ``prior_attempts`` are the attempts an item already had in this run: they are added to
    its new result's, so the stored count is the item's total (and a replayed journal line,
    which carries the total, writes the same row again)."""

    def __init__(
        self,
        run_id: int,
        database_url: str | None = None,
        journal: ResultJournal | None = None,
        prior_attempts: Mapping[str, int] | None = None,
    ) -> None:
        self.run_id = run_id
        self.database_url = database_url
        self.journal = journal
        self.prior_attempts = dict(prior_attempts or {})
        self.written = 0

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

    def _write(self, rows: list[Any]) -> None:
        with registry_sessions(self.database_url).begin() as session:
            write_item_results(session, self.run_id, rows)
        self.written += len(rows)


@dataclass(frozen=True)
class BenchJob:
    """What one benchmark works on, read from the registry once."""

    workload: str
    candidate: str
    quarter: str
    attempt: int
    candidate_id: int
    version_id: int
    spec: CandidateSpec
    items: list[EvalItem]
    scorer_raw: dict[str, Any]
    runner: str
    serving: dict[str, Any]
    url: str
    """The registry's URL (names the journal)."""
    flush_s: float
    """Results reach the registry at least this often."""

    @property
    def label(self) -> str:
        """``workload/candidate quarter (attempt n)``, for log lines and errors."""
        return f"{self.workload}/{self.candidate} {self.quarter} (attempt {self.attempt})"


def load_job(
    factory: sessionmaker[Session],
    url: str,
    names: tuple[str, str, str],
    attempt: int | None,
    flush_s: float,
) -> BenchJob:
    """The benchmark of candidate ``names[1]`` of workload ``names[0]`` for quarter
    ``names[2]``; ``attempt`` None: the workload's newest attempt for the quarter, else 1."""
    workload, candidate, quarter = names
    with factory.begin() as session:
        bundle = load_workload(session, workload)
        row = _find(bundle.candidates, workload, candidate)
        if attempt is None:
            attempt = max(1, latest_attempt(
                session, candidate_ids=[c.id for c in bundle.candidates],
                eval_set_version_id=bundle.version.id, quarter=quarter,
            ))  # fmt: skip
        return BenchJob(
            workload=workload, candidate=candidate, quarter=quarter, attempt=attempt,
            candidate_id=row.id, version_id=bundle.version.id,
            spec=mapping.candidate_spec(row), items=[mapping.eval_item(i) for i in bundle.items],
            scorer_raw=dict(bundle.workload.scorer or {}), runner=row.runner.value,
            serving=dict(row.serving or {}), url=url, flush_s=flush_s,
        )  # fmt: skip


@dataclass
class PassTotals:
    """What the passes of one benchmark called and spent (``skipped``: by the first)."""

    called: int = 0
    skipped: int = 0
    retried: int = 0
    cost_usd: float = 0.0


async def run_pass(
    job: BenchJob,
    factory: sessionmaker[Session],
    budget_usd: float | None,
    progress: Any,
    totals: PassTotals,
    *,
    kind: str = "main",
) -> tuple[int, str, str | None]:
    """Open (or resume) the run and call every item :func:`items_to_call` allows."""

    def prepare() -> tuple[int, ItemsToCall, ResultJournal]:
        with factory.begin() as session:
            run = open_run(session, candidate_id=job.candidate_id,
                           eval_set_version_id=job.version_id, quarter=job.quarter,
                           budget_usd=budget_usd, attempt=job.attempt)  # fmt: skip
            journal = ResultJournal(journal_path(settings().data_dir, job.url, run.id))
            write_item_results(session, run.id, journal.rows())  # what a killed try received
            todo = items_to_call(session, run.id, max_attempts=job.spec.limits.max_attempts)
            return run.id, todo, journal

    run_id, todo, journal = await anyio.to_thread.run_sync(prepare)
    journal.discard()  # the registry holds it now; this try journals afresh
    if kind == "main":
        totals.skipped = len(todo.skip_keys)
    if len(todo.skip_keys) >= len(job.items):

        def close() -> str:
            with factory.begin() as session:
                run = get_run(session, run_id)
                if run.status != RunStatus.COMPLETE:
                    run = finish_run(session, run_id, RunStatus.COMPLETE, None, None)
                return run.status.value

        return run_id, await anyio.to_thread.run_sync(close), None
    sink = RegistrySink(run_id, job.url, journal, todo.prior_attempts)
    summary, stats = await call_engine(job, todo.skip_keys, sink, budget_usd, progress,
                                        factory, kind)  # fmt: skip
    totals.called += summary.items_done
    totals.cost_usd += float(summary.cost_usd)
    if kind == "retry":
        totals.retried += summary.items_done
    # A retry pass revisits items that all have a result: the run stays complete.
    status = summary.status if kind == "main" else RunStatus.COMPLETE.value

    def finish() -> None:
        with factory.begin() as session:
            finish_run(session, run_id, status, {"pass": kind, **stats}, summary.model_version)

    await anyio.to_thread.run_sync(finish)
    journal.discard()
    return run_id, summary.status, summary.reason


async def retry_pass(
    job: BenchJob,
    factory: sessionmaker[Session],
    run_id: int,
    level: int,
    cooldown_s: float,
    budget_usd: float | None,
    progress: Any,
    totals: PassTotals,
    log: Log,
) -> None:
    """Grant the run retry passes up to ``level`` and call the errored items that frees."""

    def pending() -> tuple[int, int]:
        with factory.begin() as session:
            run = get_run(session, run_id)
            todo = items_to_call(session, run_id, max_attempts=job.spec.limits.max_attempts)
            return run.retry_passes, todo.retryable

    granted, retryable = await anyio.to_thread.run_sync(pending)
    if granted >= level or retryable == 0:
        return
    log.info("%s: %d errored item(s) get a retry pass in %g s", job.label, retryable, cooldown_s)
    await asyncio.sleep(cooldown_s)

    def grant() -> None:
        with factory.begin() as session:
            grant_retry_pass(session, run_id, level)

    await anyio.to_thread.run_sync(grant)
    await run_pass(job, factory, budget_usd, progress, totals, kind="retry")


async def call_engine(
    job: BenchJob,
    skip: frozenset[str],
    sink: RegistrySink,
    budget_usd: float | None,
    progress: Any,
    factory: sessionmaker[Session],
    kind: str,
) -> tuple[RunSummary, dict[str, Any]]:
    """One pass of the engine that fits the candidate's runner over the items not skipped."""
    scorer, credentials = await anyio.to_thread.run_sync(
        scorer_and_credentials, job.scorer_raw, [job.spec]
    )
    stats: dict[str, Any] = {}
    try:
        if job.runner in ("vllm", "transformers"):
            from tasks.gpu.runners import run_self_hosted

            hosted = await run_self_hosted(
                job.runner, job.spec, job.serving, job.items, scorer=scorer, skip_keys=skip,
                sink=sink, budget_usd=budget_usd, progress=progress,
            )  # fmt: skip
            summary = hosted.summary
            stats.update(throughput_stats(hosted.throughput))
        else:
            from tasks.evaluation.runner import run_candidate

            summary = await run_candidate(
                job.spec, job.items, scorer=scorer, skip_keys=skip, sink=sink, env=credentials,
                budget_usd=budget_usd, progress=progress, flush_interval_s=job.flush_s,
            )  # fmt: skip
    except EvaluationError as exc:
        failed: RunSummary | None = getattr(exc, "summary", None)
        message = str(exc)

        def fail() -> None:
            with factory.begin() as session:
                finish_run(
                    session, sink.run_id, RunStatus.FAILED,
                    {"pass": kind, **(summary_stats(failed) if failed else {})}, None,
                    error=message,
                )  # fmt: skip

        await anyio.to_thread.run_sync(fail)
        if sink.journal is not None:
            sink.journal.discard()
        raise
    finally:
        if sink.journal is not None:
            sink.journal.close()  # kept on disk if the registry may lack some of it
    stats.update(summary_stats(summary))
    return summary, stats


def scorer_and_credentials(
    scorer_raw: Mapping[str, Any], specs: Sequence[CandidateSpec]
) -> tuple[Scorer, dict[str, str]]:
    """The workload's scorer and the API keys its candidates and judge name (environment,
    else Prefect Secret blocks; see :mod:`tasks.credentials`). Blocking: run in a thread
    from async code."""
    from tasks.credentials import credentials_for
    from tasks.evaluation.scorers import build_scorer

    settings = mapping.scorer_spec(scorer_raw)
    judge_key = settings.get("api_key_env") if settings.get("type") == "llm_judge" else None
    credentials = credentials_for([*(s.api_key_env or "" for s in specs), judge_key or ""])
    if settings.get("type") == "llm_judge":
        settings = {**settings, "env": credentials}
    return build_scorer(settings), credentials


def _find(candidates: Sequence[Candidate], workload: str, name: str) -> Candidate:
    for row in candidates:
        if row.name == name:
            return row
    from registry.errors import NotFoundError

    names = ", ".join(c.name for c in candidates)
    raise NotFoundError(f"workload {workload!r} has no candidate {name!r} (it has: {names})")


def summary_stats(summary: RunSummary) -> dict[str, Any]:
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
    return {
        "hardware": report.hardware,
        "device": report.device,
        "batch_size": report.batch_size,
        "items_per_s": report.items_per_s,
        "output_tokens_per_s": report.output_tokens_per_s,
        "throughput": report.describe(),
    }
