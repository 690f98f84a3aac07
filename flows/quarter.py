"""``relitigate-quarter``: every production fine-tune (or a filter) for one quarter.

Orchestration only: bounded concurrency across workloads, a summary table artifact, the
quarter digest for the platform channel (when one is configured and every workload is
decided), then delivery of the notices the decisions enqueued. One workload's failure does not
stop the others; the flow run fails at the end, naming the workloads that failed.

Each workload runs as a subflow in this process, or, with ``RELITIGATE_WORKLOAD_DEPLOYMENT``
set, as a run of that deployment on its work pool (:func:`_fanned_out`), so a quarter spreads
over the pool's workers. A fanned-out run that crashes or fails (its worker lost, say) is
started again up to ``RELITIGATE_WORKLOAD_RETRIES`` times; it resumes from the checkpointed
item results, so no finished item is paid twice.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import asdict, dataclass, field
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_table_artifact
from prefect.deployments import arun_deployment

from flows.notices import deliver_notices
from flows.parameters import QuarterRequest, WorkloadRequest, run_name_of
from flows.workload import plan_rerun, relitigate_workload
from tasks.context import RegistryContext, flow_context
from tasks.decide import DecisionSummary, existing_decision
from tasks.notices import enqueue_digest_task
from tasks.plan import active_workload_names

QUARTERLY_CRON = "0 6 1 1,4,7,10 *"
"""When the quarterly deployment runs: the first day of January, April, July and October,
06:00 in :data:`QUARTERLY_TIMEZONE`. ``deployments/prefect.yaml`` says the same (a test
checks it); ``relitigate serve`` schedules from here."""
QUARTERLY_TIMEZONE = "UTC"


@dataclass(frozen=True)
class WorkloadFailure:
    """A workload that could not be re-litigated this quarter, and why."""

    workload: str
    quarter: str
    detail: str


@dataclass(frozen=True)
class QuarterOutcome:
    """What a quarter's run decided, workload by workload, and what failed."""

    quarter: str
    decisions: list[DecisionSummary] = field(default_factory=list)
    failures: list[WorkloadFailure] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Plain data (``relitigate run --json``)."""
        return asdict(self)


class QuarterFailedError(RuntimeError):
    """Some workloads could not be re-litigated; the others were recorded.

    ``outcome`` holds the decided workloads and, for each failed one, its cause.
    """

    def __init__(self, message: str, outcome: QuarterOutcome | None = None) -> None:
        super().__init__(message)
        self.outcome = outcome

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.outcome))


@flow(name="relitigate-quarter", flow_run_name=run_name_of(QuarterRequest))
async def relitigate_quarter(request: QuarterRequest = QuarterRequest()) -> QuarterOutcome:  # noqa: B008
    """Re-litigate the production fine-tunes for a quarter (default: the current one).

    A workload already decided ``keep``, ``watch`` or ``retire`` is reused; one decided
    ``inconclusive`` gets a retry pass over its errored items and is decided again.
    """
    with flow_context() as ctx:
        outcome = await _relitigate(ctx, request)
    if outcome.failures:
        names = ", ".join(f.workload for f in outcome.failures)
        raise QuarterFailedError(
            f"{outcome.quarter}: {len(outcome.failures)} workload(s) failed: {names}", outcome
        )
    return outcome


async def _relitigate(ctx: RegistryContext, request: QuarterRequest) -> QuarterOutcome:
    logger = get_run_logger()
    q = request.resolved_quarter()
    names = await asyncio.to_thread(active_workload_names, ctx, request.workloads)
    logger.info("re-litigating %d workload(s) for %s", len(names), q)
    limit = asyncio.Semaphore(max(1, ctx.settings.max_concurrent_workloads))

    deployment = ctx.settings.workload_deployment

    async def one(name: str) -> DecisionSummary:
        one_request = WorkloadRequest(
            workload=name, quarter=q, force=request.force, fresh=request.fresh
        )
        async with limit:
            if deployment:
                return await _fanned_out(ctx, deployment, one_request)
            return await relitigate_workload(one_request)

    results = await asyncio.gather(*(one(n) for n in names), return_exceptions=True)
    decided: list[DecisionSummary] = []
    failed: list[WorkloadFailure] = []
    for name, result in zip(names, results, strict=True):
        if isinstance(result, BaseException):
            logger.error("%s %s failed: %s", name, q, result)
            failed.append(WorkloadFailure(workload=name, quarter=q, detail=str(result)))
        else:
            decided.append(result)
    outcome = QuarterOutcome(quarter=q, decisions=decided, failures=failed)
    if names:
        await acreate_table_artifact(
            key="quarter-summary", table=_table(outcome),
            description=f"relitigate {q}: one row per workload",
        )  # fmt: skip
    if not outcome.failures:
        await enqueue_digest_task(ctx, q)
    if request.deliver:
        await deliver_notices()
    return outcome


async def _fanned_out(
    ctx: RegistryContext, deployment: str, request: WorkloadRequest
) -> DecisionSummary:
    """One workload's re-litigation as a run of ``deployment``; its decision read back from the
    registry. A quarter already decided for good is reused here, without a run."""
    logger = get_run_logger()
    workload, quarter = request.workload, request.quarter
    done = await asyncio.to_thread(existing_decision, ctx, workload, quarter)
    if done is not None and plan_rerun(done, force=request.force, fresh=request.fresh,
                                       next_attempt=0) is None:  # fmt: skip
        return done
    tries = 1 + ctx.settings.workload_retries
    for attempt in range(1, tries + 1):
        run = await arun_deployment(
            deployment, parameters={"request": request.model_dump(mode="json")}, timeout=None
        )
        state = run.state
        if state is not None and state.is_completed():
            decided = await asyncio.to_thread(existing_decision, ctx, workload, quarter)
            if decided is None:
                raise RuntimeError(
                    f"{workload} {quarter}: flow run {run.id} of {deployment} completed but "
                    "recorded no decision; check that its worker uses this registry "
                    "(RELITIGATE_DATABASE_URL)"
                )
            return dataclasses.replace(decided, reused=False)
        name = state.name if state is not None else "unknown"
        logger.warning("%s %s: flow run %s of %s ended %s (try %d of %d)",
                       workload, quarter, run.id, deployment, name, attempt, tries)  # fmt: skip
        # A fresh attempt that failed part-way is resumed (the newest attempt, re-decided),
        # not started afresh once more.
        request = request.model_copy(
            update={"fresh": False, "force": request.force or request.fresh}
        )
    raise RuntimeError(
        f"{workload} {quarter}: {tries} run(s) of {deployment} did not complete (the last "
        f"{name}); the items they finished are kept, and the next run resumes from them"
    )


def _table(outcome: QuarterOutcome) -> list[dict[str, str]]:
    rows = [
        {"workload": d.workload, "quarter": d.quarter, "verdict": d.verdict,
         "advantage": "" if d.advantage is None else f"{d.advantage:.3f}",
         "notice": d.notice_kind or "", "reused": "yes" if d.reused else "",
         "detail": "; ".join(d.reasons)}
        for d in outcome.decisions
    ]  # fmt: skip
    rows += [
        {"workload": f.workload, "quarter": f.quarter, "verdict": "error", "advantage": "",
         "notice": "", "reused": "", "detail": f.detail}
        for f in outcome.failures
    ]  # fmt: skip
    return rows
