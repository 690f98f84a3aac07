"""One entry point for a self-hosted candidate, whichever runner it declares.

The benchmark task calls :func:`run_self_hosted` for runner ``vllm`` (a model server the
worker starts, benchmarked through the API runner) or ``transformers`` (in this process),
and gets the engine's :class:`~tasks.evaluation.types.RunSummary` plus the throughput
behind the GPU-hour price.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from tasks.evaluation.types import (
    CandidateSpec,
    EvalItem,
    ProgressCallback,
    ResultSink,
    RunSummary,
    Scorer,
)
from tasks.gpu.config import ServingConfig, parse_serving
from tasks.gpu.errors import ServingConfigError
from tasks.gpu.throughput import ThroughputReport

SelfHostedRunner = Literal["vllm", "transformers"]


@dataclass(frozen=True, slots=True)
class SelfHostedRun:
    """A self-hosted candidate's run: the engine's summary and the measured throughput."""

    summary: RunSummary
    throughput: ThroughputReport
    server_log: Path | None = None
    """Runner ``vllm``: the model server's log (kept)."""


async def run_self_hosted(
    runner: str,
    spec: CandidateSpec,
    serving: ServingConfig | Mapping[str, Any],
    items: Iterable[EvalItem],
    *,
    scorer: Scorer,
    skip_keys: frozenset[str] | set[str] = frozenset(),
    sink: ResultSink,
    budget_usd: Decimal | float | None = None,
    progress: ProgressCallback | None = None,
    log_dir: Path | None = None,
) -> SelfHostedRun:
    """Benchmark a self-hosted candidate with its runner.

    Args:
        runner: ``vllm`` (any server a command template starts) or ``transformers``.
        spec: The candidate, with its route (names the served model) and pricing.
        serving: Its ``serving`` settings (validated here when given as a mapping).
        items: The eval set.
        scorer: The engine's scorer.
        skip_keys: Items that already have results (resume).
        sink: Receives the results.
        budget_usd: Spend cap, applied by the API runner (runner ``vllm``). In-process
            generation costs GPU time already paid for, and is not capped.
        progress: Hears every finished item.
        log_dir: Runner ``vllm``: where the server's log goes.

    Raises:
        ServingConfigError: unknown runner or invalid serving settings (nothing started).
        EvaluationError: as :func:`~tasks.gpu.serving.run_served_candidate` and
            :func:`~tasks.gpu.inprocess.run_inprocess_candidate` raise.
    """
    config = serving if isinstance(serving, ServingConfig) else parse_serving(spec.name, serving)
    if runner == "vllm":
        from tasks.gpu.serving import run_served_candidate

        served = await run_served_candidate(
            spec, config, items, scorer=scorer, skip_keys=skip_keys, sink=sink,
            budget_usd=budget_usd, progress=progress, log_dir=log_dir,
        )  # fmt: skip
        return SelfHostedRun(served.summary, served.throughput, served.log_path)
    if runner == "transformers":
        from tasks.gpu.inprocess import run_inprocess_candidate

        local = await run_inprocess_candidate(
            spec, config, items, scorer=scorer, skip_keys=skip_keys, sink=sink,
            progress=progress,
        )  # fmt: skip
        return SelfHostedRun(local.summary, local.throughput)
    raise ServingConfigError(
        candidate=spec.name,
        problem=f"runner {runner!r} is not self-hosted; use 'vllm' or 'transformers'",
    )
