"""The parts a workload in ``relitigate.yaml`` is built from: candidates and its eval set.

A candidate is one model that can answer the workload, with its prompt, pricing and pacing
limits; the eval-set reference names the file and the scorer that grades outputs against its
targets. Here too: :class:`Strict`, the base of every model a user writes, and the field types
the workload models share. The workload and file models, and the loader, are
:mod:`registry.workload_file`.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from registry.models import Runner

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$"
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
"""A workload, candidate or eval-set name: letters, digits, ``.``, ``_`` and ``-``."""
EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,199}$")]
"""The NAME of an environment variable, never a key. In flow runs a variable missing from the
environment is read from the Prefect Secret block of that name in block form
(``OPENAI_API_KEY`` -> ``openai-api-key``; see :mod:`tasks.credentials`)."""
NonNegative = Annotated[float, Field(ge=0)]
BIGINT_MAX = 2**63 - 1
"""The largest count the registry's integer columns hold."""
Count = Annotated[int, Field(ge=0, le=BIGINT_MAX)]
"""A count (calls, examples) that fits the registry's BIGINT columns."""


def _finite_everywhere(value: Any, where: str = "") -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where or 'value'}: {value!r} is not a finite number")
    if isinstance(value, Mapping):
        for key, item in value.items():
            _finite_everywhere(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _finite_everywhere(item, f"{where}[{index}]")


def _json_object(value: dict[str, Any]) -> dict[str, Any]:
    _finite_everywhere(value)
    return value


JsonObject = Annotated[dict[str, Any], AfterValidator(_json_object)]
"""Free-form settings stored as JSON: every number in them finite (JSON has no NaN or inf)."""


class Strict(BaseModel):
    """Base of every model a user writes: unknown keys are errors, numbers are finite."""

    model_config = ConfigDict(
        extra="forbid", use_attribute_docstrings=True, frozen=True, allow_inf_nan=False
    )


class Pricing(Strict):
    """Per-token prices, or GPU rental for self-hosted models (then give both GPU fields)."""

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


class ExactScorer(Strict):
    """Output equals the target exactly (after stripping surrounding whitespace)."""

    kind: Literal["exact"]


class NormalizedScorer(Strict):
    """Output equals the target after case, whitespace and punctuation are normalised."""

    kind: Literal["normalized"]


class RegexScorer(Strict):
    """Output matches a regular expression (``{target}`` in it is replaced by the target)."""

    kind: Literal["regex"]
    pattern: Annotated[str, StringConstraints(min_length=1)]
    """Python regular expression."""
    ignore_case: bool = False
    """Match case-insensitively."""

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value.replace("{target}", "x"))
        except re.error as exc:
            raise ValueError(f"invalid regular expression: {exc}") from exc
        return value


class JsonFieldScorer(Strict):
    """Output is JSON; the named fields (dotted paths) must equal the target's."""

    kind: Literal["json_field"]
    fields: Annotated[list[Annotated[str, StringConstraints(min_length=1)]], Field(min_length=1)]
    """Dotted paths into the JSON output, e.g. ``category`` or ``routing.queue``."""


class NumericScorer(Strict):
    """Output parses as a number within a tolerance of the target."""

    kind: Literal["numeric"]
    tolerance: NonNegative = 0.0
    """Allowed absolute difference (relative when ``relative``)."""
    relative: bool = False
    """Treat ``tolerance`` as a fraction of the target."""


class TokenF1Scorer(Strict):
    """Token-overlap F1 between output and target; passes at or above ``threshold``."""

    kind: Literal["token_f1"]
    threshold: Annotated[float, Field(ge=0, le=1)] = 0.5
    """F1 needed to pass."""


class LlmJudgeScorer(Strict):
    """A judge model grades the output against the target with a rubric."""

    kind: Literal["llm_judge"]
    route: Annotated[str, StringConstraints(min_length=1)]
    """litellm route of the judge; it may not be one of the contestants."""
    api_base: str | None = None
    """OpenAI-compatible base URL of the judge, if not the provider's default."""
    api_key_env: EnvName | None = None
    """Name of the env var or Secret block holding the judge's key."""
    rubric: Annotated[str, StringConstraints(min_length=1)]
    """What a correct answer looks like; shown to the judge with the item and target."""
    threshold: Annotated[float, Field(ge=0, le=1)] = 0.5
    """Judge score needed to pass."""
    params: JsonObject = Field(default_factory=dict)
    """Generation parameters for the judge."""
    pricing: Pricing | None = None
    """The judge's own pricing, when litellm does not know the route."""


class PythonScorer(Strict):
    """A Python callable named by import path ``package.module:function``."""

    kind: Literal["python"]
    callable: Annotated[
        str, StringConstraints(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
    ]
    """Import path ``module:function``; it gets ``(output, item)`` (the item carries ``target``
    and ``metadata``) and returns a bool, a score in [0, 1] or a Score; it may be async."""
    options: JsonObject = Field(default_factory=dict)
    """Scorer options; only ``threshold`` (the score needed to pass, default 1.0) exists.
    Settings of your own belong inside the callable."""

    @field_validator("options")
    @classmethod
    def _only_threshold(cls, value: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(value) - {"threshold"})
        if unknown:
            raise ValueError(f"unknown option(s) {unknown}: only 'threshold' is accepted")
        threshold = value.get("threshold", 1.0)
        if not isinstance(threshold, int | float) or not 0 <= threshold <= 1:
            raise ValueError(f"threshold must be a number in [0, 1], got {threshold!r}")
        return value


Scorer = Annotated[
    ExactScorer
    | NormalizedScorer
    | RegexScorer
    | JsonFieldScorer
    | NumericScorer
    | TokenF1Scorer
    | LlmJudgeScorer
    | PythonScorer,
    Field(discriminator="kind"),
]


class EvalSetRef(Strict):
    """Where a workload's eval set lives and how its outputs are scored."""

    path: Annotated[str, StringConstraints(min_length=1)]
    """JSONL, CSV or Parquet file, relative to the workloads file."""
    name: Name | None = None
    """Eval-set name in the registry (default: the workload's name)."""
    format: Literal["jsonl", "csv", "parquet"] | None = None
    """File format (default: from the suffix)."""
    scorer: Scorer = Field(default_factory=lambda: ExactScorer(kind="exact"))
    """How an output is scored against the item's target (default: exact)."""


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
    """Pacing for a candidate's route; unset fields keep the engine's defaults."""

    concurrency: Annotated[int, Field(ge=1, le=10_000)] | None = None
    """Requests in flight at once."""
    rpm: Annotated[int, Field(ge=1)] | None = None
    """Requests per minute."""
    tpm: Annotated[int, Field(ge=1)] | None = None
    """Tokens per minute."""
    timeout_s: Annotated[float, Field(gt=0, le=86_400)] | None = None
    """Per-attempt timeout, at most a day (sockets refuse longer ones)."""
    max_attempts: Annotated[int, Field(ge=1, le=20)] | None = None
    """Attempts per item, the first included."""


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
    """Name of the env var with the key (or its Secret block, see :data:`EnvName`). Never the
    key itself."""
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

    @model_validator(mode="after")
    def _serving_needs_self_hosted(self) -> CandidateSpec:
        if self.serving and self.runner == Runner.API:
            raise ValueError("serving is only for runner vllm or transformers")
        return self
