"""``relitigate bench``: the head-to-head for one workload now, with a progress bar.

It runs the same benchmark as the flows (checkpointed in the registry, resumable, never
paying twice), without Prefect, then prints both sides' figures. The same preflight as the
flows runs first (credentials, routes, prices, and one connection to each provider
endpoint), so a provider that is not there stops the command before anything is spent.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table


def run_bench(
    workload: str, *, candidate: str | None, quarter: str | None, budget: float | None
) -> None:
    """Benchmark ``workload``'s candidates (or one) for ``quarter`` and print the figures."""
    from tasks.runtime import registry_sessions

    registry_sessions()  # reachable and up to date, before the engines load
    from tasks.benchmark import preflight_workload, run_benchmark
    from tasks.decision.quarter import Quarter
    from tasks.evaluation.types import ProgressUpdate
    from tasks.plan import plan_workload

    q = quarter or str(Quarter.from_date(datetime.now(UTC).date()))
    plan = plan_workload(workload)
    names = [plan.fine_tune, *plan.buys]
    if candidate is not None:
        if candidate not in names:
            from registry.errors import NotFoundError

            raise NotFoundError(
                f"workload {workload!r} has no candidate {candidate!r} (it has: {', '.join(names)})"
            )
        names = [candidate]
    preflight_workload(workload)  # every candidate, before anything is spent on any
    console = Console()
    if not console.is_terminal:
        console = Console(width=140)
    outcomes = []
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("${task.fields[cost]:.4f}  errors {task.fields[errors]}"),
        TimeRemainingColumn(),
        console=console,
    ) as progress:
        for name in names:
            bar = progress.add_task(name, total=None, cost=0.0, errors=0)

            def update(u: ProgressUpdate, bar: Any = bar) -> None:
                progress.update(
                    bar, completed=u.done, total=u.total, cost=float(u.cost_usd), errors=u.errors
                )

            outcomes.append(
                asyncio.run(run_benchmark(workload, name, q, budget_usd=budget, progress=update))
            )
    _print(console, workload, q, [o.run_id for o in outcomes])


def _print(console: Console, workload: str, quarter: str, run_ids: list[int]) -> None:
    from registry.runs import get_run, load_run_results
    from tasks.runtime import registry_sessions

    table = Table(title=f"{workload} {quarter}: head to head")
    table.add_column("candidate", no_wrap=True)
    for col in ("status", "quality", "passed", "errors", "$/call",
                "$/useful task", "p50 ms", "p95 ms"):  # fmt: skip
        table.add_column(col)
    with registry_sessions().begin() as session:
        for run_id in run_ids:
            run = get_run(session, run_id)
            results = load_run_results(session, run_id)
            done = [r for r in results if r.has_result and r.error is None]
            n = len(results)
            cost = sum(r.cost_usd for r in results)
            passed = sum(1 for r in done if r.passed)
            stats = run.stats or {}
            gpu = stats.get("gpu_cost_per_call_usd")
            per_call = float(gpu) if gpu is not None else (cost / len(done) if done else 0.0)
            per_task = (
                (per_call * n / passed)
                if gpu is not None and passed
                else (cost / passed if passed else None)
            )
            quality = sum(r.score or 0.0 for r in done) / n if n else 0.0
            table.add_row(
                run.candidate.name,
                run.status.value,
                f"{quality:.3f}",
                f"{passed}/{n}",
                str(n - len(done)),
                f"${per_call:.6f}",
                "n/a" if per_task is None else f"${per_task:.6f}",
                _ms(stats.get("p50_latency_ms")),
                _ms(stats.get("p95_latency_ms")),
            )
    console.print(table)
    console.print("quality counts errored or missing items as 0; see the memo for intervals")
    for run_id in run_ids:
        with registry_sessions().begin() as session:
            run = get_run(session, run_id)
            console.print(f"  {run.candidate.name}: {run.candidate.route} ({run.model_version})")


def _ms(value: Any) -> str:
    return "n/a" if value is None else f"{float(value):.0f}"
