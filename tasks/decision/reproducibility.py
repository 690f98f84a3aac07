"""The reproducibility block of a decision: what it was computed from, and how."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np

from tasks.decision.money import DAYS_PER_MONTH
from tasks.decision.sides import SideSummary
from tasks.decision.types import DecisionInputs, SideResults


def reproducibility(
    inputs: DecisionInputs,
    fine_tune: SideResults,
    buys: tuple[SideSummary, ...],
    seed: int,
    review: date,
    *,
    engine_version: str,
) -> dict[str, Any]:
    """The eval set, sides, prices, judge, seed and method a decision was taken with."""

    def side(s: SideResults | SideSummary) -> dict[str, Any]:
        return {
            "name": s.name,
            "route": s.route,
            "model_version": s.model_version,
            "pricing": dict(s.pricing),
        }

    ft = side(fine_tune)
    if fine_tune.cost_per_call_usd is not None:
        ft["cost_per_call_usd"] = fine_tune.cost_per_call_usd
    if fine_tune.throughput is not None:
        ft["throughput"] = {
            "hardware": fine_tune.throughput.hardware,
            "items_per_s": fine_tune.throughput.items_per_s,
            "batch_size": fine_tune.throughput.batch_size,
            "gpu_usd_per_hour": fine_tune.throughput.gpu_usd_per_hour,
        }
    judge = inputs.judge
    return {
        "eval_set_hash": inputs.eval_set_hash,
        "n_items": fine_tune.n_items,
        "fine_tune": ft,
        "buys": [side(b) for b in buys],
        "judge": None if judge is None else {"route": judge.route, "version": judge.model_version},
        "seed": seed,
        "method": "score tests (null variance, Edgeworth), Holm over buys",
        "days_per_month": DAYS_PER_MONTH,
        "engine_version": engine_version,
        "numpy_version": np.__version__,
        "next_review_date": review.isoformat(),
    }
