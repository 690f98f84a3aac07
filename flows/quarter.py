"""``relitigate-quarter``: every production fine-tune (or a filter) for one quarter.

Orchestration only: bounded concurrency across workloads, a summary table artifact, the
quarter digest for the platform channel (when one is configured and every workload is
decided), then delivery of the notices the decisions enqueued. One workload's failure does not
stop the others; the flow run fails at the end, naming the workloads that failed.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import anyio
from prefect import flow, get_run_logger
from prefect.artifacts import acreate_table_artifact

from flows.notices import deliver_notices
from flows.workload import relitigate_workload
from tasks.decision.quarter import Quarter
from tasks.notices import enqueue_digest_task
from tasks.plan import active_workload_names
from tasks.runtime import settings


class QuarterFailedError(RuntimeError):
    """Some workloads could not be re-litigated; the others were recorded.

    ``rows`` holds every workload's row: the decided ones, and for each failed one
    ``{"workload", "quarter", "verdict": "error", "detail": <its cause>}``.
    """

    def __init__(self, message: str, rows: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.rows = list(rows or [])


def current_quarter() -> str:
    """The quarter today falls in (UTC)."""
    return str(Quarter.from_date(datetime.now(UTC).date()))


@flow(name="relitigate-quarter", flow_run_name="quarter {quarter}")
async def relitigate_quarter(
    quarter: str | None = None,
    workloads: list[str] | None = None,
    force: bool = False,
    deliver: bool = True,
    fresh: bool = False,
) -> list[dict[str, Any]]:
    """Re-litigate the production fine-tunes for ``quarter`` (default: the current one).

    A workload already decided ``keep``, ``watch`` or ``retire`` is reused; one decided
    ``inconclusive`` gets a retry pass over its errored items and is decided again.

    Args:
        quarter: ``YYYYQn``; default the current quarter.
        workloads: only these workloads (default: every active one).
        force: re-decide quarters already decided (benchmarks still resume, never repay).
        deliver: send pending notices (the digest included) at the end.
        fresh: re-benchmark from scratch as a new attempt and decide again (the earlier
            attempt's runs, results and decision stay on record).
    """
    logger = get_run_logger()
    q = str(Quarter.parse(quarter)) if quarter else current_quarter()
    names = await anyio.to_thread.run_sync(active_workload_names, workloads)
    logger.info("re-litigating %d workload(s) for %s", len(names), q)
    limit = asyncio.Semaphore(max(1, settings().max_concurrent_workloads))

    async def one(name: str) -> dict[str, Any]:
        async with limit:
            return await relitigate_workload(name, q, force=force, fresh=fresh)

    results = await asyncio.gather(*(one(n) for n in names), return_exceptions=True)
    rows: list[dict[str, Any]] = []
    failed: list[str] = []
    for name, result in zip(names, results, strict=True):
        if isinstance(result, BaseException):
            failed.append(name)
            logger.error("%s %s failed: %s", name, q, result)
            rows.append({"workload": name, "quarter": q, "verdict": "error", "detail": str(result)})
        else:
            rows.append(result)
    if rows:
        await acreate_table_artifact(
            key="quarter-summary",
            table=[_table_row(r) for r in rows],
            description=f"relitigate {q}: one row per workload",
        )
    if not failed:
        await enqueue_digest_task(q)
    if deliver:
        await deliver_notices()
    if failed:
        raise QuarterFailedError(
            f"{q}: {len(failed)} workload(s) failed: {', '.join(failed)}", rows
        )
    return rows


def _table_row(row: dict[str, Any]) -> dict[str, str]:
    advantage = row.get("advantage")
    return {
        "workload": str(row.get("workload")),
        "quarter": str(row.get("quarter")),
        "verdict": str(row.get("verdict")),
        "advantage": "" if advantage is None else f"{advantage:.3f}",
        "notice": str(row.get("notice_kind") or ""),
        "reused": "yes" if row.get("reused") else "",
        "detail": "; ".join(row.get("reasons", [])) or str(row.get("detail", "")),
    }
