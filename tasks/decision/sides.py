"""One side's summary, and pairing two sides item by item."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from tasks.decision.errors import MisalignedItemsError
from tasks.decision.money import answered_cost, cost_per_call, cost_per_useful_task, total_cost
from tasks.decision.stats import Estimate, mean_interval
from tasks.decision.types import FloatArray, Role, SideResults, Throughput


@dataclass(frozen=True, slots=True)
class SideSummary:
    """What the memo's head-to-head table shows for one candidate."""

    name: str
    route: str
    model_version: str | None
    role: Role
    n_items: int
    n_errors: int
    error_rate: float
    n_passed: int
    binary: bool
    quality: Estimate
    """Mean score, errored items counted as 0 (failed), with its 95% interval."""
    quality_if_errors_passed: float
    """Mean score with errored items counted as 1: the other end of what errors allow."""
    cost_per_call_usd: float
    """Mean over answered calls (errored calls left out); NaN when none was answered."""
    total_cost_usd: float
    """What the run paid, errored calls included."""
    cost_per_useful_task_usd: float | None
    """Cost of the answered calls / items passed; None when nothing passed."""
    latency_p50_ms: float | None
    """Over calls that did not error; None when all errored."""
    latency_p95_ms: float | None
    mean_prompt_tokens: float
    mean_completion_tokens: float
    pricing: Mapping[str, Any]
    throughput: Throughput | None


def score_bounds(side: SideResults) -> tuple[FloatArray, FloatArray]:
    """(low, high): the side's scores with errored items at 0 and at 1."""
    low = np.where(side.errored, 0.0, side.scores)
    if not side.errored.any():
        return low, low
    return low, np.where(side.errored, 1.0, side.scores)


def summarize(side: SideResults, *, alpha: float) -> SideSummary:
    """Quality, cost and latency of one side; errored items counted, never dropped."""
    low, high = score_bounds(side)
    n = side.n_items
    n_errors = int(np.count_nonzero(side.errored))
    n_passed = int(np.count_nonzero(side.passed & ~side.errored))
    completed = side.latency_ms[~side.errored]
    completed = completed[np.isfinite(completed)]
    ordered = np.sort(completed)
    p50, p95 = _percentile(ordered, 50.0), _percentile(ordered, 95.0)
    spent = total_cost(side)
    quality = mean_interval(low, alpha=alpha)
    return SideSummary(
        name=side.name,
        route=side.route,
        model_version=side.model_version,
        role=side.role,
        n_items=n,
        n_errors=n_errors,
        error_rate=n_errors / n,
        n_passed=n_passed,
        binary=quality.method == "wilson",
        quality=quality,
        quality_if_errors_passed=float(high.mean()),
        cost_per_call_usd=cost_per_call(side),
        total_cost_usd=spent,
        cost_per_useful_task_usd=cost_per_useful_task(answered_cost(side), n_passed),
        latency_p50_ms=p50,
        latency_p95_ms=p95,
        mean_prompt_tokens=float(side.prompt_tokens.mean()),
        mean_completion_tokens=float(side.completion_tokens.mean()),
        pricing=dict(side.pricing),
        throughput=side.throughput,
    )


def _percentile(ordered: FloatArray, q: float) -> float | None:
    """numpy's default (linear) percentile of already sorted values; None when empty."""
    if ordered.size == 0:
        return None
    position = q / 100.0 * (ordered.size - 1)
    below = int(position)
    above = min(below + 1, ordered.size - 1)
    return float(ordered[below] + (ordered[above] - ordered[below]) * (position - below))


def align(fine_tune: SideResults, other: SideResults) -> SideResults:
    """``other`` reordered to the fine-tune's item order; raises if the item sets differ."""
    if other.item_keys == fine_tune.item_keys:
        return other
    position = {key: i for i, key in enumerate(other.item_keys)}
    missing = sum(1 for key in fine_tune.item_keys if key not in position)
    extra = other.n_items - (fine_tune.n_items - missing)
    if missing or extra:
        raise MisalignedItemsError(
            fine_tune=fine_tune.name, other=other.name, missing=missing, extra=extra
        )
    order = np.fromiter((position[k] for k in fine_tune.item_keys), dtype=np.intp)
    arrays = (
        "scores",
        "passed",
        "errored",
        "cost_usd",
        "latency_ms",
        "prompt_tokens",
        "completion_tokens",
    )
    changes: dict[str, Any] = {name: getattr(other, name)[order] for name in arrays}
    return dataclasses.replace(other, item_keys=fine_tune.item_keys, **changes)
