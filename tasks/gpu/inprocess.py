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
import statistics
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tasks.evaluation.errors import EvaluationError
from tasks.evaluation.pricing import PricePlan, price_plan
from tasks.evaluation.prompt import preamble, render
from tasks.evaluation.scorers import check_judge_independent
from tasks.evaluation.scoring import score_output
from tasks.evaluation.types import (
    CandidateSpec,
    EvalItem,
    ItemResult,
    ProgressCallback,
    ProgressUpdate,
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
    tally = _Tally(spec=spec, plan=plan, total=len(todo), skipped=len(items) - len(todo))
    first = time.perf_counter()
    try:
        for start in range(0, len(todo), config.batch_size):
            batch = todo[start : start + config.batch_size]
            t0 = time.perf_counter()
            outputs = await asyncio.to_thread(
                generate_batch, loaded, [prompts[item.key] for item in batch], **gen
            )
            elapsed = time.perf_counter() - t0
            tally.generation_s += elapsed
            scored = [
                await _score(scorer, item, out, plan=plan, latency_ms=elapsed * 1000.0)
                for item, out in zip(batch, outputs, strict=True)
            ]
            await sink.write(scored)
            for result in scored:
                tally.add(result, progress)
    except BaseException as exc:
        if isinstance(exc, EvaluationError):
            report = _report(tally, loaded, config, spec)
            exc.summary = tally.summary(
                report, "failed", f"{type(exc).__name__}: {exc}", startup_s=first - called,
                wall_s=time.perf_counter() - first, model_version=_model_version(config),
            )  # fmt: skip
        raise
    report = _report(tally, loaded, config, spec)
    summary = tally.summary(
        report, "complete", None, startup_s=first - called,
        wall_s=time.perf_counter() - first, model_version=_model_version(config),
    )  # fmt: skip
    return InProcessRun(summary=summary, throughput=report)


def _report(
    tally: _Tally, loaded: LoadedModel, config: ServingConfig, spec: CandidateSpec
) -> ThroughputReport:
    pricing = spec.pricing
    return measure_throughput(
        hardware=loaded.hardware,
        device=loaded.device,
        batch_size=config.batch_size,
        items=tally.done,
        output_tokens=tally.completion_tokens,
        wall_s=tally.generation_s,
        gpu_usd_per_hour=pricing.gpu_usd_per_hour if pricing else None,
        gpus=pricing.gpus if pricing else 1,
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


def _model_version(config: ServingConfig) -> str:
    return f"{config.model}+{config.adapter}" if config.adapter else config.model


@dataclass(slots=True)
class _Tally:
    spec: CandidateSpec
    plan: PricePlan
    total: int
    skipped: int
    done: int = 0
    passed: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: Decimal = Decimal(0)
    judge_cost: Decimal = Decimal(0)
    generation_s: float = 0.0
    latencies: list[float] = field(default_factory=list)

    def add(self, r: ItemResult, progress: ProgressCallback | None) -> None:
        self.done += 1
        self.passed += r.passed
        self.errors += r.error is not None
        self.prompt_tokens += r.prompt_tokens
        self.completion_tokens += r.completion_tokens
        self.cost += r.cost_usd
        self.judge_cost += r.judge_cost_usd
        if r.error is None:
            self.latencies.append(r.latency_ms)
        if progress is not None:
            progress(
                ProgressUpdate(
                    candidate=self.spec.name,
                    done=self.done,
                    total=self.total,
                    passed=self.passed,
                    errors=self.errors,
                    cost_usd=self.cost,
                )
            )

    def summary(
        self,
        report: ThroughputReport,
        status: RunStatus,
        reason: str | None,
        *,
        startup_s: float,
        wall_s: float,
        model_version: str,
    ) -> RunSummary:
        p50 = p95 = None
        if len(self.latencies) >= 2:
            cuts = statistics.quantiles(self.latencies, n=100, method="inclusive")
            p50, p95 = cuts[49], cuts[94]
        elif self.latencies:
            p50 = p95 = self.latencies[0]
        cost, per_call = self.cost, report.cost_per_call_usd
        if per_call is not None:  # GPU-hour pricing, as the API runner does it
            cost = per_call * (self.done - self.errors)
        return RunSummary(
            candidate=self.spec.name,
            route=self.spec.route,
            status=status,
            reason=reason,
            items_total=self.skipped + self.total,
            items_skipped=self.skipped,
            items_done=self.done,
            items_passed=self.passed,
            items_errored=self.errors,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            cost_usd=cost,
            judge_cost_usd=self.judge_cost,
            startup_s=startup_s,
            wall_s=wall_s,
            throughput_items_per_s=report.items_per_s,
            p50_latency_ms=p50,
            p95_latency_ms=p95,
            model_version=model_version,
            gpu_cost_per_call_usd=per_call,
        )
