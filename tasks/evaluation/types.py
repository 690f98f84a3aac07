"""Plain frozen data that flows through the evaluation engine.

Everything here is built by the caller (a Prefect task reads the registry and the workload
file and converts them) and handed to :func:`tasks.evaluation.runner.run_candidate`. Money is
:class:`~decimal.Decimal` in US dollars, exact to the digit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, Protocol

from vocabulary import ErrorKind as ErrorKind
from vocabulary import Limits as Limits
from vocabulary import Pricing as DeclaredPricing

ChatMessage = Mapping[str, Any]
"""One chat message: ``{"role": "user" | "system" | "assistant", "content": str}``."""

ItemInput = str | Sequence[ChatMessage]


@dataclass(frozen=True, slots=True)
class FewShot:
    """One worked example shown to the model before the item: a user turn, then the answer."""

    input: str
    output: str


@dataclass(frozen=True, slots=True)
class PromptSpec:
    """How a candidate is asked: system prompt, few-shot turns, and the item template.

    ``template`` is a :meth:`str.format` string with the field ``{input}`` (text inputs) and
    any ``{metadata_key}`` from the item's metadata. Chat-message inputs are sent as given,
    after the system prompt and few-shot turns.
    """

    system: str | None = None
    few_shot: tuple[FewShot, ...] = ()
    template: str = "{input}"


@dataclass(frozen=True, slots=True)
class Pricing:
    """A candidate's own pricing; when absent, litellm's cost map prices the route.

    Per-token: both ``input_usd_per_token`` and ``output_usd_per_token``. Self-hosted:
    ``gpu_usd_per_hour`` x ``gpus``, turned into a per-call cost from the run's measured
    throughput (:func:`tasks.evaluation.pricing.gpu_cost_per_call`).
    """

    input_usd_per_token: Decimal | None = None
    output_usd_per_token: Decimal | None = None
    gpu_usd_per_hour: Decimal | None = None
    gpus: int = 1

    @classmethod
    def from_declared(cls, declared: DeclaredPricing | None) -> Pricing | None:
        """The engine's prices for a declared :class:`vocabulary.Pricing` (USD per million
        tokens, or per GPU-hour), exact to the digit; None: litellm's cost map prices it."""
        if declared is None:
            return None
        if declared.gpu_hourly_usd is not None:
            return cls(gpu_usd_per_hour=_exact(declared.gpu_hourly_usd), gpus=declared.gpus or 1)
        assert declared.input_per_mtok is not None and declared.output_per_mtok is not None
        return cls(
            input_usd_per_token=_exact(declared.input_per_mtok) / _MILLION,
            output_usd_per_token=_exact(declared.output_per_mtok) / _MILLION,
        )


_MILLION = Decimal(1_000_000)


def _exact(value: float) -> Decimal:
    """The decimal the user wrote (``0.15``, not the binary float's expansion)."""
    return Decimal(str(value))


@dataclass(frozen=True, slots=True)
class CandidateSpec:
    """One model that can answer the workload, as the engine needs it."""

    name: str
    route: str
    """litellm route, e.g. ``openai/gpt-5``, ``hosted_vllm/ticket-ft-v3``."""
    api_base: str | None = None
    api_key_env: str | None = None
    """Name of the environment variable holding the key (never the key itself)."""
    prompt: PromptSpec = field(default_factory=PromptSpec)
    params: Mapping[str, Any] = field(default_factory=dict)
    """Generation parameters passed to the provider (``temperature``, ``max_tokens``...)."""
    pricing: Pricing | None = None
    limits: Limits = field(default_factory=Limits)
    """Pacing and retries (:class:`vocabulary.Limits`, the workloads file's own model)."""
    transport: Literal["auto", "litellm", "acompletion"] = "auto"
    """``auto``: OpenAI-compatible routes go over the OpenAI wire protocol directly, others
    through litellm; ``litellm``: always through litellm. Through litellm, providers in
    ``litellm_direct.DIRECT_PROVIDERS`` get litellm's provider transforms without its per-call
    machinery, others ``litellm.acompletion``; ``acompletion``: always
    ``litellm.acompletion`` (all of litellm's per-call work, for comparison or a quirk)."""


@dataclass(frozen=True, slots=True)
class EvalItem:
    """One eval-set item."""

    key: str
    input: ItemInput
    target: str
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class JudgeInfo:
    """Which model judged an answer (recorded with every LLM-judge score)."""

    route: str
    model_version: str | None


@dataclass(frozen=True, slots=True)
class Score:
    """A scorer's verdict on one output."""

    passed: bool
    value: float
    """In [0, 1]."""
    explanation: str | None = None
    judge: JudgeInfo | None = None
    judge_cost_usd: Decimal = Decimal(0)
    judge_prompt_tokens: int = 0
    judge_completion_tokens: int = 0


class Scorer(Protocol):
    """Scores one output against its item. Build one with :func:`build_scorer`."""

    async def __call__(self, output: str, item: EvalItem) -> Score: ...


@dataclass(frozen=True, slots=True)
class ItemResult:
    """What one item cost and scored. ``error`` set means the item has no valid answer."""

    item_key: str
    output: str | None
    passed: bool
    score: float
    prompt_tokens: int
    completion_tokens: int
    cost_usd: Decimal
    """The candidate's calls only; zero under GPU-hour pricing (see RunSummary)."""
    judge_cost_usd: Decimal
    latency_ms: float
    """Of the successful attempt (or of the last one)."""
    attempts: int
    error: str | None = None
    error_kind: ErrorKind | None = None
    """Set with ``error``: why the item has no valid answer."""
    explanation: str | None = None
    model_version: str | None = None
    judge: JudgeInfo | None = None


RunStatus = Literal["complete", "incomplete", "failed"]


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One run of one candidate over the items it was given."""

    candidate: str
    route: str
    status: RunStatus
    reason: str | None
    """Why the run is not complete (budget cap, permanent error, cancellation)."""
    items_total: int
    items_skipped: int
    """Already had results (``skip_keys``); not called."""
    items_done: int
    """Called in this run, errors included."""
    items_passed: int
    items_errored: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: Decimal
    judge_cost_usd: Decimal
    startup_s: float
    """From the call until the first request left."""
    wall_s: float
    """From the first request to the last reply."""
    throughput_items_per_s: float
    p50_latency_ms: float | None
    p95_latency_ms: float | None
    model_version: str | None
    gpu_cost_per_call_usd: Decimal | None = None
    """GPU-hour pricing only: hourly cost / measured calls per hour."""


class ResultSink(Protocol):
    """Where a run hands its results, in batches (the flow wires it to the registry)."""

    async def write(self, results: Sequence[ItemResult]) -> None: ...


@dataclass(frozen=True, slots=True)
class ProgressUpdate:
    """A run's progress after one more item."""

    candidate: str
    done: int
    """Items finished in this run (errors included)."""
    total: int | None
    """Items this run will call, if known (skipped items excluded)."""
    passed: int
    errors: int
    cost_usd: Decimal


class ProgressCallback(Protocol):
    """Hears every finished item; must return quickly (no I/O per call)."""

    def __call__(self, update: ProgressUpdate, /) -> None: ...
