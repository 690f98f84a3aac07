"""``relitigate bench``: the head-to-head for one workload now, with a progress bar.

It runs the same benchmark as the flows (checkpointed in the registry, resumable, never
paying twice), without Prefect, then prints both sides' figures: a table, or with ``--json``
one JSON document on stdout (the bar then goes to stderr). The same preflight as the flows
runs first (credentials, routes, prices, and one connection to each provider endpoint), so a
provider that is not there stops the command before anything is spent.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from relitigate.cli.progress_bar import ProgressBars

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tasks.benchmark import BenchmarkOutcome
    from tasks.context import RegistryContext


@dataclass(frozen=True)
class SideFigures:
    """One candidate's figures after the benchmark (errored and missing items count as 0)."""

    candidate: str
    route: str
    model_version: str | None
    status: str
    quality: float
    passed: int
    items: int
    errors: int
    cost_per_call_usd: float
    cost_per_useful_task_usd: float | None
    p50_latency_ms: float | None
    p95_latency_ms: float | None


def run_bench(
    workload: str,
    *,
    candidate: str | None,
    quarter: str | None,
    budget: float | None,
    as_json: bool = False,
) -> None:
    """Benchmark ``workload``'s candidates (or one) for ``quarter`` and print the figures."""
    from tasks.context import opened
    from tasks.rate_limits import shared_rate_limits

    # reachable and up to date before the engines load; calls share each route's budget
    with opened() as ctx, shared_rate_limits(ctx):
        _bench(ctx, workload, candidate=candidate, quarter=quarter, budget=budget, as_json=as_json)


def _bench(
    ctx: RegistryContext,
    workload: str,
    *,
    candidate: str | None,
    quarter: str | None,
    budget: float | None,
    as_json: bool,
) -> None:
    from flows.parameters import current_quarter
    from tasks.benchmark import preflight_workload, run_benchmark
    from tasks.plan import plan_workload

    q = quarter or current_quarter()
    plan = plan_workload(ctx, workload)
    names = [plan.fine_tune, *plan.buys]  # a buy leaving the comparison only when named
    if candidate is not None:
        if candidate not in (*names, *plan.left):
            from registry.errors import NotFoundError

            raise NotFoundError(
                f"workload {workload!r} has no candidate {candidate!r} "
                f"(it has: {', '.join((*names, *plan.left))})"
            )
        names = [candidate]
    # the comparison's candidates (and a named one that left it), before anything is spent
    checked = {plan.fine_tune, *plan.buys, *names}
    preflight_workload(ctx, workload, candidates=checked)
    console = Console(stderr=as_json)
    if not console.is_terminal:
        console = Console(width=140, stderr=as_json)
    if candidate is None and plan.left:
        console.print(
            f"Not benchmarked: {', '.join(plan.left)} (deprecated within the horizon, so out of "
            "the comparison; --candidate NAME benchmarks one anyway)",
            markup=False,
        )
    outcomes: list[BenchmarkOutcome] = []
    with ProgressBars(console) as bars:
        for name in names:
            outcomes.append(
                asyncio.run(run_benchmark(ctx, workload, name, q, budget_usd=budget, progress=bars))
            )
    with ctx.sessions.begin() as session:
        sides = [side_figures(session, o.run_id) for o in outcomes]
    if as_json:
        runs = [
            {**asdict(side), "run": o.to_json()} for side, o in zip(sides, outcomes, strict=True)
        ]
        print(json.dumps({"workload": workload, "quarter": q, "candidates": runs}, indent=2))
        return
    _print(console, f"{workload} {q}: head to head", sides)


def side_figures(session: Session, run_id: int) -> SideFigures:
    """The figures of run ``run_id`` from its stored results and statistics."""
    from registry.runs import get_run, load_run_results

    run = get_run(session, run_id)
    results = load_run_results(session, run_id)
    done = [r for r in results if r.has_result and r.error is None]
    n = len(results)
    cost = sum(r.cost_usd for r in results)
    passed = sum(1 for r in done if r.passed)
    stats = run.stats or {}
    gpu = stats.get("gpu_cost_per_call_usd")
    per_call = float(gpu) if gpu is not None else (cost / len(done) if done else 0.0)
    if gpu is not None:
        per_task = per_call * n / passed if passed else None
    else:
        per_task = cost / passed if passed else None
    return SideFigures(
        candidate=run.candidate.name,
        route=run.candidate.route,
        model_version=run.model_version,
        status=run.status.value,
        quality=sum(r.score or 0.0 for r in done) / n if n else 0.0,
        passed=passed,
        items=n,
        errors=n - len(done),
        cost_per_call_usd=per_call,
        cost_per_useful_task_usd=per_task,
        p50_latency_ms=_float(stats.get("p50_latency_ms")),
        p95_latency_ms=_float(stats.get("p95_latency_ms")),
    )


def _print(console: Console, title: str, sides: list[SideFigures]) -> None:
    table = Table(title=title)
    table.add_column("candidate", no_wrap=True)
    for col in ("status", "quality", "passed", "errors", "$/call",
                "$/useful task", "p50 ms", "p95 ms"):  # fmt: skip
        table.add_column(col)
    for s in sides:
        per_task = s.cost_per_useful_task_usd
        table.add_row(
            s.candidate, s.status, f"{s.quality:.3f}", f"{s.passed}/{s.items}", str(s.errors),
            f"${s.cost_per_call_usd:.6f}", "n/a" if per_task is None else f"${per_task:.6f}",
            _ms(s.p50_latency_ms), _ms(s.p95_latency_ms),
        )  # fmt: skip
    console.print(table)
    console.print("quality counts errored or missing items as 0; see the memo for intervals")
    for s in sides:
        console.print(f"  {s.candidate}: {s.route} ({s.model_version})")


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}"
