"""The parts a workload in ``relitigate.yaml`` is built from: its candidates and its eval set.

A candidate is one model that can answer the workload, with its prompt, pricing and pacing
limits; the eval-set reference names the file and the scorer that grades outputs against its
targets. The settings inside them (prompt, pricing, limits, scorers) are the shared
:mod:`vocabulary`, which the engines read too. The workload and file models, and the loader,
are :mod:`registry.workload_file`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from vocabulary import (
    EnvName,
    ExactScorer,
    JsonObject,
    Limits,
    Name,
    Pricing,
    Prompt,
    Runner,
    ScorerSettings,
    Strict,
)


class EvalSetRef(Strict):
    """Where a workload's eval set lives and how its outputs are scored."""

    path: Annotated[str, StringConstraints(min_length=1)]
    """JSONL, CSV or Parquet file, relative to the workloads file."""
    name: Name | None = None
    """Eval-set name in the registry (default: the workload's name)."""
    format: Literal["jsonl", "csv", "parquet"] | None = None
    """File format (default: from the suffix)."""
    scorer: ScorerSettings = Field(default_factory=ExactScorer)
    """How an output is scored against the item's target (default: exact)."""


class CandidateSpec(Strict):
    """One model that can answer the workload."""

    name: Name
    """Unique within the workload."""
    runner: Runner = Runner.API
    """``api`` (a litellm route), ``vllm`` (a GPU worker serves it) or ``transformers``."""
    route: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    """litellm route, e.g. ``openai/gpt-5`` or ``hosted_vllm/ticket-ft-v3``."""
    api_base: (
        Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=500)] | None
    ) = None
    """OpenAI-compatible base URL (self-hosted servers, the simulator)."""
    api_key_env: EnvName | None = None
    """Name of the env var with the key (or its Secret block, see :data:`vocabulary.EnvName`).
    Never the key itself."""
    prompt: Prompt = Field(default_factory=Prompt)
    """System prompt, few-shot examples and template."""
    params: JsonObject = Field(default_factory=dict)
    """Generation parameters (``temperature``, ``max_tokens``, ...)."""
    pricing: Pricing | None = None
    """The candidate's own pricing (default: litellm's cost map for the route)."""
    serving: JsonObject = Field(default_factory=dict)
    """Self-hosted runners: command template, model path, adapter, batch size, ..."""
    limits: Limits = Field(default_factory=Limits)
    """Concurrency, rate limits, timeout and retries for this route."""
    production_api_base: (
        Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=500)] | None
    ) = None
    """Where production calls this candidate (a self-hosted fine-tune's serving endpoint),
    when it differs from the benchmark's ``api_base``; ``relitigate routing`` uses it."""
    base_model: Annotated[str, StringConstraints(min_length=1, max_length=500)] | None = None
    """The fine-tune's base model as a route (``openai/gpt-4o-mini-2024-07-18``): its
    deprecation date (declared, or litellm's price map) is watched like the route's."""

    @model_validator(mode="after")
    def _serving_needs_self_hosted(self) -> CandidateSpec:
        if self.serving and self.runner == Runner.API:
            raise ValueError("serving is only for runner vllm or transformers")
        return self
