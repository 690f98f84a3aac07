"""Builders for decision-engine inputs, small enough to reason about by hand."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from tasks.decision import (
    DecisionInputs,
    HistoryPoint,
    SideResults,
    Thresholds,
    WorkloadPolicy,
)


def side(
    name: str,
    role: str,
    scores: npt.ArrayLike,
    *,
    errored: npt.ArrayLike | None = None,
    passed: npt.ArrayLike | None = None,
    cost: npt.ArrayLike | None = None,
    keys: Sequence[str] | None = None,
    **extra: Any,
) -> SideResults:
    """A side whose item i has ``scores[i]``; passed defaults to score >= 0.5.

    Default per-call cost: $0.00002 for a fine-tune, $0.0003 for a buy, so that at the
    default policy's 20M calls/day keeping the fine-tune saves money.
    """
    if cost is None:
        cost = 0.00002 if role == "fine_tune" else 0.0003
    s = np.asarray(scores, dtype=float)
    n = s.size
    err = np.zeros(n, bool) if errored is None else np.asarray(errored, bool)
    ok = s >= 0.5 if passed is None else np.asarray(passed, bool)
    return SideResults(
        name=name,
        route=f"test/{name}",
        model_version=f"{name}-v1",
        role=role,  # type: ignore[arg-type]
        item_keys=tuple(keys) if keys is not None else tuple(f"item-{i}" for i in range(n)),
        scores=np.where(err, np.nan, s),
        passed=ok & ~err,
        errored=err,
        cost_usd=np.broadcast_to(np.asarray(cost, float), (n,)),
        latency_ms=np.full(n, 100.0),
        prompt_tokens=np.full(n, 50.0),
        completion_tokens=np.full(n, 5.0),
        **extra,
    )


def binary(n: int, passes: Iterable[int] | int) -> list[float]:
    """n binary scores: 1.0 at the given indices (or for the first ``passes`` items)."""
    out = [0.0] * n
    for i in range(passes) if isinstance(passes, int) else passes:
        out[i] = 1.0
    return out


def policy(
    case: str = "cost_distillation",
    *,
    volume: float | None = 20_000_000,
    fixed: float = 1_000.0,
    examples: int | None = 50_000,
    task_stable: bool | None = True,
    domain_stable: bool | None = True,
    adopted: str | None = "2025Q4",
    **thresholds: Any,
) -> WorkloadPolicy:
    """A policy whose non-quality facts all pass unless told otherwise."""
    return WorkloadPolicy(
        name="ticket-triage",
        case=case,  # type: ignore[arg-type]
        volume_per_day=volume,
        fixed_costs_monthly_usd=fixed,
        training_examples=examples,
        task_stable=task_stable,
        domain_stable=domain_stable,
        adopted_quarter=adopted,
        thresholds=Thresholds(**thresholds),
    )


def inputs(
    fine_tune: SideResults,
    *buys: SideResults,
    pol: WorkloadPolicy | None = None,
    quarter: str = "2026Q4",
    history: Sequence[HistoryPoint] = (),
    task_changed: bool = False,
) -> DecisionInputs:
    """Decision inputs with a fixed eval-set hash."""
    return DecisionInputs(
        policy=pol or policy(),
        quarter=quarter,
        fine_tune=fine_tune,
        buys=tuple(buys),
        eval_set_hash="sha256:test",
        history=tuple(history),
        task_changed=task_changed,
    )
