"""The benchmark task: one candidate, one eval-set version, one quarter.

Thin: it reads the candidate and the items from the registry, hands them to the engine that
fits the candidate's runner (API route, served model, in-process transformers) and
checkpoints every result into the registry as it arrives. A re-run calls the provider only
for items without a successful result, so a crash, kill or retry never pays twice.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import anyio
from prefect import get_run_logger, task
from prefect.client.schemas.objects import State, TaskRun
from prefect.tasks import Task

from registry.models import Candidate, RunStatus
from registry.queries import load_workload
from registry.runs import finish_run, finished_item_keys, open_run, write_item_results
from tasks import mapping
from tasks.evaluation.errors import EvaluationError
from tasks.evaluation.types import CandidateSpec, ItemResult, ProgressUpdate, RunSummary
from tasks.journal import ResultJournal, journal_path
from tasks.runtime import registry_sessions, settings

if TYPE_CHECKING:
    from tasks.evaluation.scorers import Scorer
    from tasks.gpu.throughput import ThroughputReport

FLUSH_S = 0.25
"""Results reach the registry at least this often: a SIGKILL loses at most the results of
the last quarter second (and the calls in flight), which a resume pays for again."""


@dataclass(frozen=True)
class BenchmarkOutcome:
    """What a benchmark left in the registry (the results themselves stay there)."""

    workload: str
    candidate: str
    quarter: str
    run_id: int
    status: str
    reason: str | None
    items_called: int
    items_skipped: int
    cost_usd: float

    def to_json(self) -> dict[str, Any]:
        """Plain data (flow results and run_deployment parameters)."""
        return asdict(self)


class RegistrySink:
    """The engine's result sink: batched upserts into the run's checkpoint rows, and each
    result journaled to local disk as it arrives (see :mod:`tasks.journal`)."""

    def __init__(
        self, run_id: int, database_url: str | None = None, journal: ResultJournal | None = None
    ) -> None:
        self.run_id = run_id
        self.database_url = database_url
        self.journal = journal
        self.written = 0

    def record(self, result: ItemResult) -> None:
        if self.journal is not None:
            self.journal.record(mapping.result_row(result))

    async def write(self, results: Sequence[ItemResult]) -> None:
        rows = [mapping.result_row(r) for r in results]
        await anyio.to_thread.run_sync(self._write, rows)

    def _write(self, rows: list[Any]) -> None:
        with registry_sessions(self.database_url).begin() as session:
            write_item_results(session, self.run_id, rows)
        self.written += len(rows)


class _LogProgress:
    """Logs a line every tenth of the run (and at most every few seconds)."""

    def __init__(self, label: str, every_s: float = 5.0) -> None:
        self.label = label
        self.every_s = every_s
        self.last = 0.0
        self.step = 0

    def __call__(self, update: ProgressUpdate) -> None:
        total = update.total or 0
        step = (10 * update.done // total) if total else 0
        now = time.monotonic()
        if step > self.step or now - self.last > self.every_s:
            self.step, self.last = step, now
            get_run_logger().info(
                "%s: %d/%s items, %d passed, %d errors, $%.4f so far",
                self.label,
                update.done,
                total or "?",
                update.passed,
                update.errors,
                update.cost_usd,
            )


def _is_transient(task: Task[Any, Any], run: TaskRun, state: State[Any]) -> bool:
    """Retry network trouble, never configuration errors or budget stops."""
    try:
        state.result(_sync=True)  # type: ignore[call-overload]
    except EvaluationError:
        return False
    except Exception:
        return True
    return False


@task(
    name="benchmark",
    retries=2,
    retry_delay_seconds=[5, 30],
    retry_condition_fn=_is_transient,
    task_run_name="benchmark {candidate} ({quarter})",
)
async def benchmark_task(
    workload: str,
    candidate: str,
    quarter: str,
    budget_usd: float | None = None,
    database_url: str | None = None,
) -> BenchmarkOutcome:
    """Benchmark one candidate of ``workload`` for ``quarter``, resuming a partial run."""
    return await run_benchmark(
        workload, candidate, quarter, budget_usd=budget_usd, database_url=database_url,
        progress=_LogProgress(f"{workload}/{candidate}"),
    )  # fmt: skip


async def run_benchmark(
    workload: str,
    candidate: str,
    quarter: str,
    *,
    budget_usd: float | None = None,
    database_url: str | None = None,
    progress: Any = None,
) -> BenchmarkOutcome:
    """The benchmark itself, outside Prefect (the CLI's ``bench`` calls it directly)."""
    factory = registry_sessions(database_url)
    url = database_url or settings().resolved_database_url()
    with factory.begin() as session:
        bundle = load_workload(session, workload)
        row = _find(bundle.candidates, workload, candidate)
        spec = mapping.candidate_spec(row)
        items = [mapping.eval_item(i) for i in bundle.items]
        scorer_raw = dict(bundle.workload.scorer or {})
        run = open_run(
            session,
            candidate_id=row.id,
            eval_set_version_id=bundle.version.id,
            quarter=quarter,
            budget_usd=budget_usd,
        )
        run_id = run.id
        journal = ResultJournal(journal_path(settings().data_dir, url, run_id))
        write_item_results(session, run_id, journal.rows())  # what a killed try received
        skip = finished_item_keys(session, run_id)
        runner, serving = row.runner.value, dict(row.serving or {})
    journal.discard()  # the registry holds it now; this try journals afresh
    if len(skip) == len(items):
        with factory.begin() as session:
            stored = finish_run(session, run_id, RunStatus.COMPLETE, None, None)
        return BenchmarkOutcome(
            workload, candidate, quarter, run_id, stored.status.value, None, 0, len(skip), 0.0
        )

    scorer, credentials = await anyio.to_thread.run_sync(
        _scorer_and_credentials, scorer_raw, [spec]
    )
    sink = RegistrySink(run_id, database_url, journal)
    stats: dict[str, Any] = {}
    try:
        if runner in ("vllm", "transformers"):
            from tasks.gpu.runners import run_self_hosted

            hosted = await run_self_hosted(
                runner, spec, serving, items, scorer=scorer, skip_keys=skip, sink=sink,
                budget_usd=budget_usd, progress=progress,
            )  # fmt: skip
            summary = hosted.summary
            stats.update(_throughput_stats(hosted.throughput))
        else:
            from tasks.evaluation.runner import run_candidate

            summary = await run_candidate(
                spec, items, scorer=scorer, skip_keys=skip, sink=sink, env=credentials,
                budget_usd=budget_usd, progress=progress, flush_interval_s=FLUSH_S,
            )  # fmt: skip
    except EvaluationError as exc:
        failed: RunSummary | None = getattr(exc, "summary", None)
        with factory.begin() as session:
            finish_run(
                session, run_id, RunStatus.FAILED,
                _summary_stats(failed) if failed else {}, None, error=str(exc),
            )  # fmt: skip
        journal.discard()
        raise
    finally:
        journal.close()  # kept on disk if the registry may lack some of it (e.g. it is down)
    stats.update(_summary_stats(summary))
    with factory.begin() as session:
        finish_run(session, run_id, summary.status, stats, summary.model_version)
    journal.discard()
    return BenchmarkOutcome(
        workload=workload,
        candidate=candidate,
        quarter=quarter,
        run_id=run_id,
        status=summary.status,
        reason=summary.reason,
        items_called=summary.items_done,
        items_skipped=summary.items_skipped,
        cost_usd=float(summary.cost_usd),
    )


def preflight_workload(workload: str, database_url: str | None = None) -> None:
    """Check every candidate of ``workload`` before anything is spent on any of them.

    Credentials present, route resolvable and priced, scorer buildable (an LLM judge checks
    its own credentials), serving settings valid. Raises the engine's named error.
    """
    from tasks.evaluation.preflight import check_candidate

    with registry_sessions(database_url).begin() as session:
        bundle = load_workload(session, workload, with_items=False)
        rows = [(c.name, c.runner.value, mapping.candidate_spec(c), dict(c.serving or {}))
                for c in bundle.candidates]  # fmt: skip
        scorer_raw = dict(bundle.workload.scorer or {})
    from tasks.evaluation.scorers import check_judge_independent

    specs = [spec for _, _, spec, _ in rows]
    scorer, credentials = _scorer_and_credentials(scorer_raw, specs)
    check_judge_independent(scorer, specs)
    for name, runner, spec, serving in rows:
        if runner == "api":
            check_candidate(spec, env=credentials)
        else:
            from tasks.gpu.config import parse_serving

            parse_serving(name, serving)


def _scorer_and_credentials(
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


def _summary_stats(summary: RunSummary) -> dict[str, Any]:
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


def _throughput_stats(report: ThroughputReport) -> dict[str, Any]:
    return {
        "hardware": report.hardware,
        "device": report.device,
        "batch_size": report.batch_size,
        "items_per_s": report.items_per_s,
        "output_tokens_per_s": report.output_tokens_per_s,
        "throughput": report.describe(),
    }
