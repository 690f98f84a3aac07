"""What a candidate is asked with and how it is paced: prompt, pricing and limits."""

from __future__ import annotations

import string
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator

from vocabulary.fields import NonNegative, Strict


class Pricing(Strict):
    """Per-token prices, or GPU rental for self-hosted models (then give both GPU fields).

    The evaluation engine turns it into exact per-token (or per-GPU-hour) :class:`Decimal`
    prices (``tasks.evaluation.types.Pricing``): a change of unit and of number type."""

    input_per_mtok: NonNegative | None = None
    """USD per million prompt tokens."""
    output_per_mtok: NonNegative | None = None
    """USD per million completion tokens."""
    gpu_hourly_usd: NonNegative | None = None
    """USD per GPU-hour (self-hosted); per-call cost comes from measured throughput."""
    gpus: Annotated[int, Field(ge=1)] | None = None
    """GPUs the model occupies (self-hosted)."""

    @model_validator(mode="after")
    def _one_family(self) -> Pricing:
        per_token = (self.input_per_mtok, self.output_per_mtok)
        gpu = (self.gpu_hourly_usd, self.gpus)
        has_token = any(v is not None for v in per_token)
        has_gpu = any(v is not None for v in gpu)
        if has_token and has_gpu:
            raise ValueError("give per-token prices or GPU pricing, not both")
        if has_token and None in per_token:
            raise ValueError("per-token pricing needs both input_per_mtok and output_per_mtok")
        if has_gpu and self.gpu_hourly_usd is None:
            raise ValueError("GPU pricing needs gpu_hourly_usd (and gpus, default 1)")
        if not (has_token or has_gpu):
            raise ValueError("empty pricing: give per-token prices or gpu_hourly_usd")
        return self


class FewShotExample(Strict):
    """One worked example shown before the item."""

    input: str
    """The user turn."""
    output: str
    """The model's answer."""


class Prompt(Strict):
    """How a candidate is asked."""

    system: str | None = None
    """System prompt."""
    few_shot: list[FewShotExample] = Field(default_factory=list)
    """Worked examples sent as user/assistant turns."""
    template: str = "{input}"
    """``str.format`` template of the user turn: ``{input}`` plus any item metadata keys."""

    @field_validator("template")
    @classmethod
    def _has_input(cls, value: str) -> str:
        try:
            fields = {f for _, f, _, _ in string.Formatter().parse(value) if f is not None}
        except ValueError as exc:
            raise ValueError(
                f"bad template {value!r}: {exc} (write literal braces as {{{{ }}}})"
            ) from exc
        if "input" not in fields:
            raise ValueError(f"template {value!r} must contain {{input}}")
        return value


class Limits(Strict):
    """Pacing and retries for a candidate's route. A field left out (or ``null``) keeps the
    default below, which is the evaluation engine's."""

    concurrency: Annotated[int, Field(ge=1, le=10_000)] = 32
    """Requests in flight at once."""
    rpm: Annotated[int, Field(ge=1)] | None = None
    """Requests per minute; unset: unlimited."""
    tpm: Annotated[int, Field(ge=1)] | None = None
    """Tokens (prompt + completion) per minute; unset: unlimited."""
    timeout_s: Annotated[float, Field(gt=0, le=86_400)] = 60.0
    """Per-attempt timeout, at most a day (sockets refuse longer ones)."""
    max_attempts: Annotated[int, Field(ge=1, le=20)] = 5
    """Attempts per item, the first included."""
    batch: bool = False
    """Send the candidate's items through the provider's discounted batch API (OpenAI
    Batch), one batch per call of the engine, priced at the cost map's batch prices (or the
    candidate's own ``pricing``, which is then taken to be what the batch API charges). A
    route whose provider has no batch API is refused at ``sync`` and preflight."""

    @model_validator(mode="before")
    @classmethod
    def _null_is_default(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value is not None}
        return data
