"""``relitigate-workload``: benchmark every candidate of one workload, decide, record.

Orchestration only: which task runs where, and what a re-run of a decided quarter does:

- ``keep``, ``watch`` and ``retire`` are reused (no provider call, no second decision or
  notice) unless ``force`` (re-decide from the stored results, which only resume) or
  ``fresh`` (re-benchmark from scratch as a new attempt; the earlier one stays on record);
- ``inconclusive`` is not final: a plain re-run gives the errored items one more retry pass
  and decides again, replacing the decision only if no other run did so first.

On a Prefect server, runs of one workload queue on the global concurrency limit
``workload:<slug>`` (limit 1, created by ``relitigate deploy``); without one, or on the
embedded API, the benchmarks' registry leases keep overlapping runs from paying twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_markdown_artifact
from prefect.deployments import arun_deployment

from flows.parameters import BenchmarkRequest, WorkloadRequest, run_name_of
from tasks.benchmark import benchmark_task, preflight_workload
from tasks.context import RegistryContext, flow_context
from tasks.decide import DecisionSummary, Replacing, decide_task, existing_decision, next_attempt
from tasks.flow_run import flow_run_url
from tasks.plan import WorkloadPlan, plan_workload
from tasks.waves import WaveSetup, look_task, setup_waves


def concurrency_limit_name(workload: str) -> str:
    """The Prefect global concurrency limit that queues one workload's flow runs."""
    return f"workload:{_slug(workload)}"


@dataclass(frozen=True)
class RunPlan:
    """What this run of a workload's quarter does (see the module docstring)."""

    attempt: int | None
    """The benchmark attempt; None: the newest (1 when there is none)."""
    retry_levels: dict[str, int] = field(default_factory=dict)
    """Retry passes each candidate's run should have had; absent: 1 (the automatic one)."""
    replacing: Replacing = field(default_factory=Replacing)


def plan_rerun(
    done: DecisionSummary | None, *, force: bool, fresh: bool, next_attempt: int
) -> RunPlan | None:
    """What to do given the quarter's stored decision; None: reuse it as it is."""
    if fresh:
        because = f"fresh attempt {next_attempt}"
        return RunPlan(attempt=next_attempt, replacing=Replacing(force=True, because=because))
    if force:
        return RunPlan(attempt=None, replacing=Replacing(force=True, because="force"))
    if done is None:
        return RunPlan(attempt=None)
    if done.verdict != "inconclusive":
        return None
    return RunPlan(
        attempt=done.attempt,
        retry_levels={name: level + 1 for name, level in done.retry_passes.items()},
        replacing=Replacing(supersedes=done.revision, because="retry pass after inconclusive"),
    )


@flow(name="relitigate-workload", flow_run_name=run_name_of(WorkloadRequest))
async def relitigate_workload(request: WorkloadRequest) -> DecisionSummary:
    """Re-litigate one workload's fine-tune against its buy alternatives for a quarter."""
    with flow_context() as ctx:
        async with _workload_slot(ctx, request.workload):
            return await _relitigate(ctx, request)


async def _relitigate(ctx: RegistryContext, request: WorkloadRequest) -> DecisionSummary:
    logger = get_run_logger()
    workload, quarter = request.workload, request.quarter
    done = await asyncio.to_thread(existing_decision, ctx, workload, quarter)
    attempt_after = (
        await asyncio.to_thread(next_attempt, ctx, workload, quarter) if request.fresh else 0
    )
    plan_run = plan_rerun(
        done, force=request.force, fresh=request.fresh, next_attempt=attempt_after
    )
    if plan_run is None:
        assert done is not None
        logger.info("%s %s already decided (%s): reusing it", workload, quarter, done.verdict)
        return done
    if done is not None and plan_run.replacing.supersedes is not None:
        logger.info("%s %s was inconclusive: retrying its errored items", workload, quarter)
    plan = await asyncio.to_thread(plan_workload, ctx, workload)
    if plan.left:
        logger.info("%s %s: deprecating buys left the comparison, not benchmarked: %s",
                    workload, quarter, ", ".join(plan.left))  # fmt: skip
    calls = (plan.fine_tune, *plan.buys)  # the candidates the plan calls, checked first
    await asyncio.to_thread(preflight_workload, ctx, workload, candidates=calls)
    levels = plan_run.retry_levels
    waves = await asyncio.to_thread(setup_waves, ctx, workload, quarter, plan_run.attempt)
    if waves is None:  # sequential evaluation off: every item, one fixed test
        await asyncio.gather(
            _benchmark_fine_tune(ctx, plan, quarter, plan_run.attempt,
                                 levels.get(plan.fine_tune, 1)),
            *(
                benchmark_task(ctx, workload, name, quarter, attempt=plan_run.attempt,
                               retry_level=levels.get(name, 1))
                for name in plan.buys
            ),
        )  # fmt: skip
    else:
        await _in_waves(ctx, plan, waves, levels)
    summary = await decide_task(
        ctx, workload, quarter, replacing=plan_run.replacing, attempt=plan_run.attempt,
        today=plan.today, flow_run_url=flow_run_url(ctx.settings.prefect_ui_url),
    )  # fmt: skip
    if summary.memo_path:
        memo = await asyncio.to_thread(Path(summary.memo_path).read_text, encoding="utf-8")
        await acreate_markdown_artifact(
            key=f"memo-{_slug(workload)}",
            markdown=memo,
            description=f"Decision memo: {workload} {quarter} ({summary.verdict})",
        )
    logger.info("%s %s: %s", workload, quarter, summary.verdict)
    return summary


@contextlib.asynccontextmanager
async def _workload_slot(ctx: RegistryContext, workload: str) -> AsyncIterator[None]:
    """Hold the workload's slot of its global concurrency limit on a Prefect server."""
    from prefect.settings import get_current_settings

    if not get_current_settings().api.url:  # the embedded API: no server-wide limits
        yield
        return
    from prefect.concurrency.asyncio import concurrency

    async with concurrency(
        concurrency_limit_name(workload), occupy=1, strict=False,
        timeout_seconds=ctx.settings.lease_wait_s,
    ):  # fmt: skip
        yield


async def _benchmark_fine_tune(
    ctx: RegistryContext, plan: WorkloadPlan, quarter: str, attempt: int | None, retry_level: int
) -> None:
    deployment = ctx.settings.gpu_deployment
    if deployment and plan.fine_tune_self_hosted:
        request = BenchmarkRequest(
            workload=plan.workload, candidate=plan.fine_tune, quarter=quarter, attempt=attempt,
            retry_level=retry_level,
        )  # fmt: skip
        run = await arun_deployment(
            deployment, parameters={"request": request.model_dump(mode="json")}, timeout=None
        )
        if run.state is None or not run.state.is_completed():
            state = run.state.name if run.state else "unknown"
            raise RuntimeError(
                f"GPU benchmark of {plan.workload}/{plan.fine_tune} on {deployment} ended "
                f"{state} (flow run {run.id}); its partial results are kept for the retry"
            )
        return
    await benchmark_task(
        ctx, plan.workload, plan.fine_tune, quarter, attempt=attempt, retry_level=retry_level
    )


async def _in_waves(
    ctx: RegistryContext, plan: WorkloadPlan, waves: WaveSetup, levels: dict[str, int]
) -> None:
    """The fine-tune on the whole set (cheap, and a served model is fastest on a whole
    batch) alongside the buys' first wave; then wave after wave of the buys, each followed by
    a look, until a settled verdict stops the frontier calls or the set is answered."""
    logger = get_run_logger()
    quarter, attempt = waves.quarter, waves.attempt

    async def buys(wave: int) -> None:
        await asyncio.gather(*(
            benchmark_task(ctx, plan.workload, name, quarter, attempt=attempt,
                           retry_level=levels.get(name, 1), wave=wave)
            for name in plan.buys
        ))  # fmt: skip

    await asyncio.gather(
        _benchmark_fine_tune(ctx, plan, quarter, attempt, levels.get(plan.fine_tune, 1)), buys(1)
    )
    for wave in range(1, waves.waves + 1):
        if wave > 1:
            await buys(wave)
        look = await look_task(ctx, waves, wave, today=plan.today)
        logger.info("%s %s wave %d/%d: %s", plan.workload, quarter, wave, waves.waves,
                    look.reason)  # fmt: skip
        if look.step != "continue":
            return


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
