"""``relitigate-workload``: benchmark every candidate of one workload, decide, record.

Orchestration only: which task runs where. A quarter already decided is reused unless
``force`` (no provider call, no second decision or notice).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import anyio
from prefect import flow, get_run_logger
from prefect.artifacts import acreate_markdown_artifact
from prefect.deployments import arun_deployment

from tasks.benchmark import benchmark_task, preflight_workload
from tasks.decide import decide_task, existing_decision
from tasks.plan import WorkloadPlan, plan_workload
from tasks.runtime import settings


@flow(name="relitigate-workload", flow_run_name="{workload} {quarter}")
async def relitigate_workload(workload: str, quarter: str, force: bool = False) -> dict[str, Any]:
    """Re-litigate one workload's fine-tune against its buy alternatives for ``quarter``."""
    logger = get_run_logger()
    if not force:
        done = await anyio.to_thread.run_sync(existing_decision, workload, quarter)
        if done is not None:
            logger.info("%s %s already decided (%s): reusing it", workload, quarter, done.verdict)
            return done.to_json()
    plan = await anyio.to_thread.run_sync(plan_workload, workload)
    await anyio.to_thread.run_sync(preflight_workload, workload)  # before anything is paid
    await asyncio.gather(
        _benchmark_fine_tune(plan, quarter),
        *(benchmark_task(workload, name, quarter) for name in plan.buys),
    )
    summary = await decide_task(workload, quarter, force=force, flow_run_url=_flow_run_url())
    if summary.memo_path:
        memo = await anyio.Path(summary.memo_path).read_text(encoding="utf-8")
        await acreate_markdown_artifact(
            key=f"memo-{_slug(workload)}",
            markdown=memo,
            description=f"Decision memo: {workload} {quarter} ({summary.verdict})",
        )
    logger.info("%s %s: %s", workload, quarter, summary.verdict)
    return summary.to_json()


async def _benchmark_fine_tune(plan: WorkloadPlan, quarter: str) -> None:
    deployment = settings().gpu_deployment
    if deployment and plan.fine_tune_self_hosted:
        run = await arun_deployment(
            deployment,
            parameters={"workload": plan.workload, "candidate": plan.fine_tune, "quarter": quarter},
            timeout=None,
        )
        if run.state is None or not run.state.is_completed():
            state = run.state.name if run.state else "unknown"
            raise RuntimeError(
                f"GPU benchmark of {plan.workload}/{plan.fine_tune} on {deployment} ended "
                f"{state} (flow run {run.id}); its partial results are kept for the retry"
            )
        return
    await benchmark_task(plan.workload, plan.fine_tune, quarter)


def _flow_run_url() -> str | None:
    base = settings().prefect_ui_url
    if not base:
        return None
    from prefect.runtime import flow_run

    return f"{base.rstrip('/')}/runs/flow-run/{flow_run.id}"


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
