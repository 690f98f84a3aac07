"""``benchmark-candidate``: one candidate on one eval-set version for one quarter.

The unit a GPU worker runs for a self-hosted fine-tune; the workload flow also calls it in
process. Results land in the registry, so the caller reads them from there.
"""

from __future__ import annotations

from prefect import flow

from flows.parameters import BenchmarkRequest, run_name_of
from tasks.benchmark import BenchmarkOutcome, benchmark_task
from tasks.context import flow_context


@flow(name="benchmark-candidate", flow_run_name=run_name_of(BenchmarkRequest))
async def benchmark_candidate(request: BenchmarkRequest) -> BenchmarkOutcome:
    """Benchmark one candidate of a workload for a quarter (resuming a partial run)."""
    with flow_context() as ctx:
        return await benchmark_task(
            ctx, request.workload, request.candidate, request.quarter,
            budget_usd=request.budget_usd, attempt=request.attempt,
            retry_level=request.retry_level,
        )  # fmt: skip
