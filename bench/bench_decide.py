"""Benchmark: decide 1000 workloads x 1000 paired items, score tests included.

Run from the repository root::

    .venv/bin/python bench/bench_decide.py

Building the inputs is not timed. Timed, each as the median of ``--runs`` runs:

* ``decide``: :func:`tasks.decision.decide` for every workload (score tests and intervals
  against every buy, all statistics, gates, trend, verdict, reproducibility; no memo, no
  chart). Engine version 2 is deterministic: the seed is recorded, not used.
* ``memo``: rendering every outcome's markdown memo.
* ``chart``: one PNG chart per outcome, on ``--charts`` outcomes, scaled to 1000.

Half the workloads have binary scores, half continuous; 1% of items error on the buy side.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import date

import numpy as np

from tasks.decision import (
    VERDICTS,
    DecisionInputs,
    DecisionOutcome,
    HistoryPoint,
    SideResults,
    WorkloadPolicy,
    decide,
    outcome_chart_png,
    render_memo,
)

TODAY = date(2026, 11, 25)


def _side(
    rng: np.random.Generator,
    name: str,
    role: str,
    scores: np.ndarray,
    *,
    cost: float,
    error_rate: float,
) -> SideResults:
    n = scores.size
    errored = rng.random(n) < error_rate
    return SideResults(
        name=name,
        route=f"bench/{name}",
        model_version="v1",
        role=role,  # type: ignore[arg-type]
        item_keys=KEYS[n],
        scores=np.where(errored, np.nan, scores),
        passed=(scores >= 0.5) & ~errored,
        errored=errored,
        cost_usd=np.full(n, cost),
        latency_ms=rng.lognormal(5.0, 0.4, n),
        prompt_tokens=np.full(n, 400.0),
        completion_tokens=np.full(n, 8.0),
        pricing={"input_usd_per_token": 1e-6},
    )


KEYS: dict[int, tuple[str, ...]] = {}


def workloads(count: int, items: int, seed: int = 0) -> list[DecisionInputs]:
    """``count`` workloads, alternating binary and continuous scores."""
    rng = np.random.default_rng(seed)
    KEYS[items] = tuple(f"item-{i}" for i in range(items))
    out = []
    for w in range(count):
        p = rng.uniform(0.6, 0.95)
        if w % 2 == 0:
            buy = (rng.random(items) < p).astype(float)
            ft = np.where(rng.random(items) < 0.1, rng.random(items) < p * 0.95, buy).astype(float)
        else:
            buy = np.clip(rng.normal(p, 0.15, items), 0, 1)
            ft = np.clip(buy - rng.normal(0.02, 0.05, items), 0, 1)
        history = tuple(
            HistoryPoint(f"2026Q{q}", 1.1 - 0.03 * q, "keep", 0.9, 0.85, 1e-5, 3e-4)
            for q in (1, 2, 3)
        )
        policy = WorkloadPolicy(
            name=f"workload-{w}",
            case="cost_distillation" if w % 3 else "domain_expertise",
            volume_per_day=float(rng.choice([5e6, 2e7])),
            fixed_costs_monthly_usd=10_000.0,
            training_examples=50_000,
            task_stable=True,
            domain_stable=True,
            adopted_quarter="2025Q2",
        )
        out.append(
            DecisionInputs(
                policy=policy,
                quarter="2026Q4",
                fine_tune=_side(
                    rng, "ft", "fine_tune", ft.astype(float), cost=2e-5, error_rate=0.0
                ),
                buys=(_side(rng, "buy", "buy", buy, cost=3e-4, error_rate=0.01),),
                eval_set_hash=f"sha256:{w}",
                history=history,
            )
        )
    return out


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (Linux), else what platform knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def median_seconds(fn: Callable[[], object], runs: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", type=int, default=1000)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--charts", type=int, default=20)
    args = parser.parse_args()

    cases = workloads(args.workloads, args.items)
    decide(cases[0], rng_seed=42, today=TODAY)  # warm-up: imports and the shared counts
    outcomes: list[DecisionOutcome] = []

    def run_all() -> None:
        outcomes[:] = [decide(c, rng_seed=42, today=TODAY) for c in cases]

    def memos() -> None:
        for o in outcomes:
            render_memo(o)

    def charts() -> None:
        for o in outcomes[: args.charts]:
            outcome_chart_png(o)

    scale = args.workloads
    decide_s, decide_runs = median_seconds(run_all, args.runs)
    memo_s, _ = median_seconds(memos, args.runs)
    chart_s, _ = median_seconds(charts, args.runs)
    verdicts = {v: sum(o.verdict == v for o in outcomes) for v in VERDICTS}
    print(
        f"machine: {os.cpu_count()} cores, {cpu_model()}; numpy {np.__version__}; "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}"
    )
    print(f"{args.workloads} workloads x {args.items} items, median of {args.runs} runs")
    half = {"binary": cases[0::2], "continuous": cases[1::2]}
    for kind, subset in half.items():
        part_s, _ = median_seconds(
            lambda s=subset: [decide(c, rng_seed=42, today=TODAY) for c in s], 1
        )
        print(f"decide, {kind} half:   {part_s:.3f} s for {len(subset)}")
    print(f"decide:                 {decide_s:.3f} s  runs {[round(t, 3) for t in decide_runs]}")
    print(f"memo markdown:          {memo_s:.3f} s per {scale}")
    print(
        f"chart PNG:              {chart_s / args.charts * scale:.3f} s per {scale} "
        f"(measured on {args.charts}, {chart_s / args.charts * 1000:.0f} ms each)"
    )
    print(f"verdicts: {verdicts}")


if __name__ == "__main__":
    main()
