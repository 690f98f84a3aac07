"""Render the example decision memo from a fixture: writes memo.md and trend.png here.

Run from the repository root (the project is installed in the venv, so ``tasks`` imports)::

    .venv/bin/python examples/memo/render_example.py

The fixture is invented but shaped like a real quarter: a distilled ticket-triage model
served on one H100, against two frontier models, with six quarters of history in which the
buy alternative catches up. Everything is seeded, so the output is stable.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np

from tasks.decision import (
    DecisionInputs,
    HistoryPoint,
    Judge,
    SideResults,
    Throughput,
    WorkloadPolicy,
    decide,
    outcome_chart_png,
)

HERE = Path(__file__).resolve().parent
N_ITEMS = 400


def side(
    rng: np.random.Generator,
    *,
    name: str,
    route: str,
    version: str,
    role: str,
    accuracy: float,
    error_rate: float,
    cost: float,
    latency: float,
    prompt: int,
    completion: int,
    **extra: object,
) -> SideResults:
    """One candidate's per-item results: pass/fail scores, some provider errors."""
    errored = rng.random(N_ITEMS) < error_rate
    passed = (rng.random(N_ITEMS) < accuracy) & ~errored
    scores = np.where(errored, np.nan, passed.astype(float))
    return SideResults(
        name=name,
        route=route,
        model_version=version,
        role=role,  # type: ignore[arg-type]
        item_keys=tuple(f"ticket-{i:04d}" for i in range(N_ITEMS)),
        scores=scores,
        passed=passed,
        errored=errored,
        cost_usd=np.where(errored, 0.0, cost * rng.uniform(0.8, 1.2, N_ITEMS)),
        latency_ms=rng.lognormal(np.log(latency), 0.35, N_ITEMS),
        prompt_tokens=rng.poisson(prompt, N_ITEMS).astype(float),
        completion_tokens=rng.poisson(completion, N_ITEMS).astype(float),
        **extra,  # type: ignore[arg-type]
    )


def fixture() -> DecisionInputs:
    """The ticket-triage workload in 2026Q4."""
    rng = np.random.default_rng(20261125)
    fine_tune = side(
        rng,
        name="triage-ft-v3",
        route="hosted_vllm/triage-ft-v3",
        version="v3 (2025-03-02)",
        role="fine_tune",
        accuracy=0.82,
        error_rate=0.0,
        cost=0.0,
        latency=85.0,
        prompt=410,
        completion=6,
        pricing={"gpu_usd_per_hour": 3.20, "gpus": 1},
        throughput=Throughput(
            hardware="1x H100 80GB", items_per_s=24.5, batch_size=64, gpu_usd_per_hour=3.20
        ),
        cost_per_call_usd=3.20 / 3600 / 24.5,
    )
    gpt = side(
        rng,
        name="gpt-5-mini",
        route="openai/gpt-5-mini",
        version="gpt-5-mini-2026-08-07",
        role="buy",
        accuracy=0.94,
        error_rate=0.01,
        cost=0.00021,
        latency=620.0,
        prompt=455,
        completion=9,
        pricing={"input_usd_per_token": 2.5e-7, "output_usd_per_token": 2e-6},
    )
    haiku = side(
        rng,
        name="claude-haiku",
        route="anthropic/claude-haiku-4-5",
        version="claude-haiku-4-5-20251001",
        role="buy",
        accuracy=0.89,
        error_rate=0.02,
        cost=0.00052,
        latency=540.0,
        prompt=470,
        completion=8,
        pricing={"input_usd_per_token": 1e-6, "output_usd_per_token": 5e-6},
    )
    history = (
        HistoryPoint("2025Q2", 1.12, "keep", 0.85, 0.76, 0.000043, 0.00062, "gpt-5-mini"),
        HistoryPoint("2025Q3", 1.08, "keep", 0.85, 0.79, 0.000043, 0.00055, "gpt-5-mini"),
        HistoryPoint("2025Q4", 1.04, "keep", 0.84, 0.81, 0.000044, 0.00041, "gpt-5-mini"),
        HistoryPoint("2026Q1", 1.01, "keep", 0.85, 0.84, 0.000043, 0.00034, "gpt-5-mini"),
        HistoryPoint("2026Q2", 0.98, "watch", 0.84, 0.86, 0.000044, 0.00029, "gpt-5-mini"),
        HistoryPoint("2026Q3", 0.95, "watch", 0.84, 0.88, 0.000044, 0.00025, "gpt-5-mini"),
    )
    policy = WorkloadPolicy(
        name="ticket-triage",
        case="cost_distillation",
        volume_per_day=14_000_000,
        fixed_costs_monthly_usd=18_000,
        training_examples=60_000,
        task_stable=True,
        adopted_quarter="2025Q1",
    )
    return DecisionInputs(
        policy=policy,
        quarter="2026Q4",
        fine_tune=fine_tune,
        buys=(gpt, haiku),
        eval_set_hash="sha256:9f2c41d07be3a5e1",
        history=history,
        judge=Judge(route="openai/gpt-5", model_version="gpt-5-2026-08-07"),
    )


def main() -> None:
    outcome = decide(fixture(), rng_seed=7, today=date(2026, 11, 25))
    (HERE / "memo.md").write_text(outcome.memo, encoding="utf-8")
    (HERE / "trend.png").write_bytes(outcome_chart_png(outcome))
    print(f"{outcome.workload} {outcome.quarter}: {outcome.verdict} -> {HERE / 'memo.md'}")


if __name__ == "__main__":
    main()
