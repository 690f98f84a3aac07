"""The benchmark task: one candidate, one eval-set version, one quarter, one attempt.

Thin: it reads the candidate and the items from the registry, hands them to the engine that
fits the candidate's runner (API route, served model, in-process transformers) and
checkpoints every result into the registry as it arrives.

- **One process at a time.** The benchmark runs under a registry lease
  (:mod:`registry.leases`, :mod:`tasks.lease`): a second run of the same benchmark waits for
  the holder, then resumes, finds every item answered, and pays for nothing. A holder that was
  killed is taken over once its lease expires.
- **Attempts count across runs.** A resume calls items without a result, and errored items
  whose stored attempts are below ``max_attempts`` x (1 + retry passes granted)
  (:func:`registry.runs.items_to_call`); a new result's attempts include the earlier ones.
  So two runs, or a run and its re-run, never retry a flaky side more than one run would.
- **A retry pass before deciding.** When the pass is over, errored items (transient errors
  only) get one more pass after a cooldown (``RELITIGATE_RETRY_COOLDOWN_S``); the engine
  honours every Retry-After it receives meanwhile. ``retry_level`` says how many retry passes
  the run should have had in all: 1 for the automatic one; a retry of an ``inconclusive``
  quarter asks for one more. Errors that remain count as before.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass
from typing import Any

import anyio
from prefect import task
from prefect.cache_policies import NONE
from prefect.client.schemas.objects import State, TaskRun
from prefect.tasks import Task

from registry.leases import Holder, LeaseHeldError, benchmark_lease_name
from registry.models import RunStatus
from registry.queries import load_workload
from tasks import mapping
from tasks.benchmark_job import load_job, scorer_and_credentials
from tasks.benchmark_pass import Bench, retry_pass, run_pass
from tasks.context import RegistryContext
from tasks.evaluation.errors import EvaluationError
from tasks.evaluation.types import ProgressCallback
from tasks.flow_run import current_flow_run_id
from tasks.lease import LeaseTimes, held_lease
from tasks.progress_log import log_progress, run_logger

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
    attempt: int = 1
    items_retried: int = 0
    """Of ``items_called``, those called by the retry pass."""
    lease_waited_s: float = 0.0
    """How long this process waited for another one's benchmark of the same items."""

    def to_json(self) -> dict[str, Any]:
        """Plain data (``relitigate bench --json``)."""
        return asdict(self)


def _is_transient(task: Task[Any, Any], run: TaskRun, state: State[Any]) -> bool:
    """Retry network trouble and a lost lease; never configuration errors, budget stops or
    a holder that kept the lease past the wait."""
    try:
        state.result(_sync=True)  # type: ignore[call-overload]
    except (EvaluationError, LeaseHeldError):
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
    cache_policy=NONE,  # the registry is the cache; the context is no cache key
)
async def benchmark_task(
    ctx: RegistryContext,
    workload: str,
    candidate: str,
    quarter: str,
    *,
    budget_usd: float | None = None,
    attempt: int | None = None,
    retry_level: int = 1,
    wave: int | None = None,
) -> BenchmarkOutcome:
    """Benchmark one candidate of ``workload`` for ``quarter``, resuming a partial run
    (``wave``: only the items of the quarter's waves up to that one, :mod:`tasks.waves`)."""
    return await run_benchmark(
        ctx, workload, candidate, quarter, budget_usd=budget_usd, attempt=attempt,
        retry_level=retry_level, progress=log_progress(f"{workload}/{candidate}"), wave=wave,
    )  # fmt: skip


async def run_benchmark(
    ctx: RegistryContext,
    workload: str,
    candidate: str,
    quarter: str,
    *,
    budget_usd: float | None = None,
    progress: ProgressCallback | None = None,
    attempt: int | None = None,
    retry_level: int = 1,
    retry_cooldown_s: float | None = None,
    lease_times: LeaseTimes | None = None,
    wave: int | None = None,
) -> BenchmarkOutcome:
    """The benchmark itself, outside Prefect (the CLI's ``bench`` calls it directly).

    Args:
        attempt: the benchmark attempt (``run --fresh`` starts a new one); default the
            workload's newest for this quarter, else 1.
        retry_level: retry passes the run should have had when this returns (0: none).
        retry_cooldown_s: pause before a retry pass; default ``RELITIGATE_RETRY_COOLDOWN_S``.
        lease_times: lease settings; default the ``RELITIGATE_LEASE_*`` settings.
        wave: call only the items of the quarter's sequential waves 1..``wave`` (their order
            is seeded and stored, :mod:`tasks.waves`); None: the whole eval set.

    Raises:
        LeaseHeldError: another process held the benchmark longer than the wait.
        LeaseLostError: this process stalled past its lease and another took it over.
        EvaluationError: the engine's (configuration, permanent provider error).
    """
    job = await anyio.to_thread.run_sync(
        lambda: load_job(ctx, (workload, candidate, quarter), attempt=attempt, flush_s=FLUSH_S)
    )
    if wave is not None:
        from tasks.waves import wave_job

        job = await anyio.to_thread.run_sync(wave_job, ctx, job, wave)
    cooldown = ctx.settings.retry_cooldown_s if retry_cooldown_s is None else retry_cooldown_s
    name = benchmark_lease_name(candidate_id=job.candidate_id, eval_set_version_id=job.version_id,
                                quarter=quarter, attempt=job.attempt)  # fmt: skip
    log = run_logger()
    bench = Bench(ctx, job, budget_usd, progress)
    holder = Holder.this_process(current_flow_run_id())
    times = lease_times or ctx.lease_times
    async with held_lease(ctx.sessions, name, holder, times, label=job.label, log=log) as held:
        result = await run_pass(bench)
        if result.status == RunStatus.COMPLETE.value and retry_level > 0:
            await retry_pass(bench, result.run_id, level=retry_level, cooldown_s=cooldown, log=log)
    totals = bench.totals
    return BenchmarkOutcome(
        workload=workload, candidate=candidate, quarter=quarter, run_id=result.run_id,
        status=result.status, reason=result.reason, items_called=totals.called,
        items_skipped=totals.skipped, cost_usd=totals.cost_usd, attempt=job.attempt,
        items_retried=totals.retried, lease_waited_s=held.waited_s,
    )  # fmt: skip


def preflight_workload(
    ctx: RegistryContext, workload: str, *, candidates: Collection[str] | None = None
) -> None:
    """Check the candidates of ``workload`` (``candidates``, default all) before anything is
    spent on any of them.

    Credentials present, route resolvable and priced, scorer buildable (an LLM judge checks
    its own credentials), serving settings valid, and each distinct provider endpoint accepts
    a connection. Raises the engine's named error. A quarter passes the candidates of its
    plan, so a buy that left the comparison (and is not called) cannot stop it.
    """
    from tasks.evaluation.preflight import check_candidate, check_endpoints

    with ctx.sessions.begin() as session:
        bundle = load_workload(session, workload, with_items=False)
        rows = [(c.name, c.runner.value, mapping.candidate_spec(c), dict(c.serving or {}))
                for c in bundle.candidates
                if candidates is None or c.name in candidates]  # fmt: skip
        scorer_raw = dict(bundle.workload.scorer or {})
    from tasks.evaluation.scorers import check_judge_independent

    specs = [spec for _, _, spec, _ in rows]
    scorer, credentials = scorer_and_credentials(scorer_raw, specs)
    check_judge_independent(scorer, specs)
    checked = []
    for name, runner, spec, serving in rows:
        if runner == "api":
            checked.append((name, check_candidate(spec, env=credentials)))
        else:
            from tasks.gpu.config import parse_serving

            parse_serving(name, serving)
    check_endpoints(checked, scorer=scorer)
