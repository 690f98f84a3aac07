"""In-process runner: batched generation with Hugging Face transformers (+ a peft LoRA).

For a self-hosted candidate with runner ``transformers``: the worker loads the weights
itself (CUDA when present, else the CPU), renders each item with the tokenizer's chat
template, generates in batches of ``serving.batch_size``, scores each output with the
engine's scorer and hands each :class:`~tasks.evaluation.types.ItemResult` to the sink, as
the API runner does. Items in ``skip_keys`` are not generated again (resume).

Loading (offline, a missing model is :class:`~tasks.gpu.errors.ModelNotFoundError`, never a
download) is :mod:`tasks.gpu.loading`, where torch, transformers and peft are imported,
lazily, when a model is loaded; batched generation is :mod:`tasks.gpu.generation`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from tasks.evaluation.errors import EvaluationError
from tasks.evaluation.pricing import PricePlan, price_plan
from tasks.evaluation.prompt import preamble, render
from tasks.evaluation.scorers import check_judge_independent
from tasks.evaluation.scoring import score_output
from tasks.evaluation.tally import Tally, Timing
from tasks.evaluation.types import (
    CandidateSpec,
    EvalItem,
    ItemResult,
    ProgressCallback,
    ResultSink,
    RunStatus,
    RunSummary,
    Scorer,
)
from tasks.gpu.config import ServingConfig
from tasks.gpu.generation import Generation, generate_batch, render_prompt
from tasks.gpu.loading import LoadedModel, load_model
from tasks.gpu.throughput import ThroughputReport, measure_throughput


@dataclass(frozen=True, slots=True)
class InProcessRun:
    """What :func:`run_inprocess_candidate` returns."""

    summary: RunSummary
    throughput: ThroughputReport


def _generation_params(spec: CandidateSpec, config: ServingConfig) -> dict[str, Any]:
    params = spec.params
    stop = params.get("stop") or ()
    return {
        "max_new_tokens": int(params.get("max_tokens") or config.max_new_tokens),
        "temperature": float(params.get("temperature") or 0.0),
        "top_p": params.get("top_p"),
        "stop": (stop,) if isinstance(stop, str) else tuple(stop),
    }


async def run_inprocess_candidate(
    spec: CandidateSpec,
    config: ServingConfig,
    items: Iterable[EvalItem],
    *,
    scorer: Scorer,
    skip_keys: Collection[str] = frozenset(),
    sink: ResultSink,
    progress: ProgressCallback | None = None,
    loaded: LoadedModel | None = None,
) -> InProcessRun:
    """Benchmark a ``transformers`` candidate in this process.

    Args:
        spec: The candidate (prompt, generation params, pricing: GPU-hour or per-token).
        config: Its serving settings (model, adapter, batch size, device, dtype).
        items: The eval set.
        scorer: The engine's scorer for this eval set.
        skip_keys: Items that already have results (resume); they are not generated.
        sink: Receives each batch's results as soon as they are scored.
        progress: Hears every finished item.
        loaded: A model already loaded (benchmarks reuse one); default: load it here.

    Returns:
        The run summary (per-call GPU cost from the measured throughput) and the throughput.

    Raises:
        EvaluationError: no pricing, a bad prompt template, a missing model or adapter
            (before any generation), or an engine error from the scorer (``exc.summary``
            holds what was done; those results are in the sink).
    """
    called = time.perf_counter()
    check_judge_independent(scorer, [spec])
    plan = price_plan(spec, None)
    items = list(items)
    todo = [item for item in items if item.key not in skip_keys]
    head = preamble(spec.prompt)
    messages = {item.key: render(spec.prompt, item, head) for item in todo}
    if loaded is None:
        loaded = await asyncio.to_thread(load_model, config, candidate=spec.name)
    gen = _generation_params(spec, config)
    prompts = {key: render_prompt(loaded, m) for key, m in messages.items()}
    # Similar lengths together: less padding per batch.
    todo.sort(key=lambda item: len(prompts[item.key]))
    tally = Tally(spec.name, len(todo), skipped=len(items) - len(todo))
    generation_s = 0.0
    first = time.perf_counter()
    try:
        for start in range(0, len(todo), config.batch_size):
            batch = todo[start : start + config.batch_size]
            t0 = time.perf_counter()
            outputs = await asyncio.to_thread(
                generate_batch, loaded, [prompts[item.key] for item in batch], **gen
            )
            elapsed = time.perf_counter() - t0
            generation_s += elapsed
            scored = [
                await _score(scorer, item, out, plan=plan, latency_ms=elapsed * 1000.0)
                for item, out in zip(batch, outputs, strict=True)
            ]
            await sink.write(scored)
            for result in scored:
                update = tally.add(result)
                if progress is not None:
                    progress(update)
    except BaseException as exc:
        if isinstance(exc, EvaluationError):
            report = _report(tally, generation_s, loaded, config, spec)
            reason = f"{type(exc).__name__}: {exc}"
            exc.summary = _summary(
                tally, report, "failed", reason, spec=spec, config=config, started=called,
                first=first,
            )  # fmt: skip
        raise
    report = _report(tally, generation_s, loaded, config, spec)
    summary = _summary(
        tally, report, "complete", None, spec=spec, config=config, started=called, first=first
    )
    return InProcessRun(summary=summary, throughput=report)


def _report(
    tally: Tally,
    generation_s: float,
    loaded: LoadedModel,
    config: ServingConfig,
    spec: CandidateSpec,
) -> ThroughputReport:
    pricing = spec.pricing
    return measure_throughput(
        hardware=loaded.hardware,
        device=loaded.device,
        batch_size=config.batch_size,
        items=tally.done,
        output_tokens=tally.completion_tokens,
        wall_s=generation_s,
        gpu_usd_per_hour=pricing.gpu_usd_per_hour if pricing else None,
        gpus=pricing.gpus if pricing else 1,
    )


def _summary(
    tally: Tally,
    report: ThroughputReport,
    status: RunStatus,
    reason: str | None,
    *,
    spec: CandidateSpec,
    config: ServingConfig,
    started: float,
    first: float,
) -> RunSummary:
    """The run's summary; items not generated (a failed run) count as not started."""
    tally.not_started = (tally.total or 0) - tally.done
    timing = Timing(
        startup_s=first - started,
        wall_s=time.perf_counter() - first,
        throughput_items_per_s=report.items_per_s,
        gpu_cost_per_call_usd=report.cost_per_call_usd,  # GPU-hour pricing, as the API runner
    )
    version = f"{config.model}+{config.adapter}" if config.adapter else config.model
    return tally.summary(
        route=spec.route, status=status, reason=reason, timing=timing, model_version=version
    )


async def _score(
    scorer: Scorer, item: EvalItem, out: Generation, *, plan: PricePlan, latency_ms: float
) -> ItemResult:
    return await score_output(
        scorer, item, out.text, prompt_tokens=out.prompt_tokens,
        completion_tokens=out.completion_tokens,
        cost_usd=plan.call_cost(out.prompt_tokens, out.completion_tokens),
        latency_ms=latency_ms, attempts=1,
    )  # fmt: skip
