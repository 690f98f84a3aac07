"""``benchmark-candidate``: one candidate on one eval-set version for one quarter.

The unit a GPU worker runs for a self-hosted fine-tune; the workload flow also calls it in
process. Results land in the registry, so the caller reads them from there.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from tasks.benchmark import benchmark_task


@flow(name="benchmark-candidate", flow_run_name="{workload}/{candidate} {quarter}")
async def benchmark_candidate(
    workload: str,
    candidate: str,
    quarter: str,
    budget_usd: float | None = None,
    attempt: int | None = None,
    retry_level: int = 1,
) -> dict[str, Any]:
    """Benchmark ``candidate`` of ``workload`` for ``quarter`` (resuming a partial run).

    ``attempt`` None: the newest; ``retry_level``: retry passes the run should have had (see
    :mod:`tasks.benchmark`)."""
    outcome = await benchmark_task(
        workload, candidate, quarter, budget_usd=budget_usd, attempt=attempt,
        retry_level=retry_level,
    )  # fmt: skip
    return outcome.to_json()
