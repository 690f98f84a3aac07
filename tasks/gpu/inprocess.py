"""In-process runner: batched generation with Hugging Face transformers (+ a peft LoRA).

For a self-hosted candidate with runner ``transformers``: the worker loads the weights
itself (CUDA when present, else the CPU), renders each item with the tokenizer's chat
template, generates in batches of ``serving.batch_size``, scores each output with the
engine's scorer and hands each :class:`~tasks.evaluation.types.ItemResult` to the sink, as
the API runner does. Items in ``skip_keys`` are not generated again (resume).

Weights come from a local folder or a model id already in the local cache: every load
passes ``local_files_only=True`` (and ``HF_HUB_OFFLINE=1`` is set before the first import),
so a missing model is :class:`~tasks.gpu.errors.ModelNotFoundError`, never a download.
torch, transformers and peft are imported here, lazily, when a model is loaded.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
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
from tasks.gpu.errors import (
    AdapterNotFoundError,
    GpuExtraMissingError,
    ModelNotFoundError,
    ServingConfigError,
)
from tasks.gpu.hardware import cpu_name
from tasks.gpu.prompts import plain_prompt
from tasks.gpu.throughput import ThroughputReport, measure_throughput


@dataclass(frozen=True, slots=True)
class LoadedModel:
    """A model and tokenizer ready to generate."""

    model: Any
    tokenizer: Any
    device: str
    """``cuda`` or ``cpu``."""
    dtype: str
    hardware: str
    has_chat_template: bool
    adapter: str | None
    load_s: float


@dataclass(frozen=True, slots=True)
class Generation:
    """One generated answer."""

    text: str
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True, slots=True)
class InProcessRun:
    """What :func:`run_inprocess_candidate` returns."""

    summary: RunSummary
    throughput: ThroughputReport


def _gpu_stack() -> tuple[Any, Any]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import torch
    except ImportError as exc:
        raise GpuExtraMissingError(package="torch") from exc
    try:
        import transformers
    except ImportError as exc:
        raise GpuExtraMissingError(package="transformers") from exc
    transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    return torch, transformers


def _looks_like_path(name: str) -> bool:
    return (
        name.startswith(("/", "./", "../", "~"))
        or os.sep + os.sep in name
        or Path(name).expanduser().exists()
    )


def _resolve(name: str, *, candidate: str, adapter: bool) -> str:
    error = AdapterNotFoundError if adapter else ModelNotFoundError
    if _looks_like_path(name):
        path = Path(name).expanduser()
        if not path.is_dir():
            raise error(candidate=candidate, model=name, detail="no such folder")
        return str(path)
    if name.count("/") > 1 or not name.strip():
        raise error(candidate=candidate, model=name, detail="not a folder nor a model id")
    return name


def _pick_device(torch: Any, config: ServingConfig, candidate: str) -> str:
    has_cuda = bool(torch.cuda.is_available())
    if config.device == "cuda" and not has_cuda:
        raise ServingConfigError(
            candidate=candidate,
            problem="device 'cuda' requested but torch sees no CUDA device; use device "
            "'auto' to fall back to the CPU, or run on a GPU worker",
        )
    if config.device == "cpu":
        return "cpu"
    return "cuda" if has_cuda else "cpu"


def _pick_dtype(torch: Any, config: ServingConfig, device: str) -> tuple[Any, str]:
    name = config.dtype
    if name == "auto":
        if device == "cuda":
            name = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
        else:
            name = "float32"
    return getattr(torch, name), name


def load_model(config: ServingConfig, *, candidate: str) -> LoadedModel:
    """Load the tokenizer, the model and (if declared) its LoRA adapter, offline.

    Raises:
        GpuExtraMissingError: torch, transformers or peft is not installed.
        ModelNotFoundError: the model is neither a local folder nor in the local cache.
        AdapterNotFoundError: likewise for the adapter.
        ServingConfigError: CUDA requested where there is none.
    """
    started = time.perf_counter()
    torch, transformers = _gpu_stack()
    model_ref = _resolve(config.model, candidate=candidate, adapter=False)
    device = _pick_device(torch, config, candidate)
    dtype, dtype_name = _pick_dtype(torch, config, device)
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(model_ref, local_files_only=True)
        model = transformers.AutoModelForCausalLM.from_pretrained(
            model_ref, local_files_only=True, dtype=dtype
        )
    except OSError as exc:
        raise ModelNotFoundError(
            candidate=candidate, model=config.model, detail=_first_line(exc)
        ) from exc
    if config.adapter:
        adapter_ref = _resolve(config.adapter, candidate=candidate, adapter=True)
        try:
            import peft
        except ImportError as exc:
            raise GpuExtraMissingError(package="peft") from exc
        try:
            model = peft.PeftModel.from_pretrained(model, adapter_ref, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise AdapterNotFoundError(
                candidate=candidate, model=config.adapter, detail=_first_line(exc)
            ) from exc
    model.to(device)
    model.eval()
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    hardware = config.hardware or (
        str(torch.cuda.get_device_name(0)) if device == "cuda" else cpu_name()
    )
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        device=device,
        dtype=dtype_name,
        hardware=hardware,
        has_chat_template=bool(getattr(tokenizer, "chat_template", None)),
        adapter=config.adapter,
        load_s=time.perf_counter() - started,
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def render_prompt(loaded: LoadedModel, messages: Sequence[Mapping[str, Any]]) -> str:
    """The text the model sees: its chat template, or a plain template when it has none."""
    if loaded.has_chat_template:
        text = loaded.tokenizer.apply_chat_template(
            [dict(m) for m in messages], tokenize=False, add_generation_prompt=True
        )
        return str(text)
    return plain_prompt(messages)


def generate_batch(
    loaded: LoadedModel,
    prompts: Sequence[str],
    *,
    max_new_tokens: int,
    temperature: float = 0.0,
    top_p: float | None = None,
    stop: Sequence[str] = (),
) -> list[Generation]:
    """Generate one answer per prompt, in one batch (left-padded). Blocking."""
    torch, _ = _gpu_stack()
    tok = loaded.tokenizer
    encoded = tok(
        list(prompts),
        return_tensors="pt",
        padding=True,
        add_special_tokens=not loaded.has_chat_template,
    ).to(loaded.device)
    kwargs: dict[str, Any] = {
        "max_new_tokens": max_new_tokens,
        "pad_token_id": tok.pad_token_id,
        "do_sample": temperature > 0,
    }
    if temperature > 0:
        kwargs["temperature"] = temperature
        if top_p is not None:
            kwargs["top_p"] = top_p
    with torch.inference_mode():
        output = loaded.model.generate(**encoded, **kwargs)
    width = encoded["input_ids"].shape[1]
    new_tokens = output[:, width:].tolist()
    prompt_lengths = encoded["attention_mask"].sum(dim=1).tolist()
    eos_ids = _eos_ids(loaded)
    results = []
    for row, prompt_len in zip(new_tokens, prompt_lengths, strict=True):
        kept = []
        for token in row:
            if token in eos_ids:
                break
            kept.append(token)
        # The eos token counts as generated output; padding after it does not.
        used = len(kept) + (1 if len(kept) < len(row) else 0)
        text = tok.decode(kept, skip_special_tokens=True).strip()
        results.append(
            Generation(text=_cut(text, stop), prompt_tokens=int(prompt_len), completion_tokens=used)
        )
    return results


def _eos_ids(loaded: LoadedModel) -> set[int]:
    ids: set[int] = set()
    for source in (getattr(loaded.model, "generation_config", None), loaded.tokenizer):
        value = getattr(source, "eos_token_id", None)
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, list | tuple):
            ids.update(int(v) for v in value)
    return ids


def _cut(text: str, stop: Sequence[str]) -> str:
    for marker in stop:
        if marker and marker in text:
            text = text[: text.index(marker)]
    return text


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
