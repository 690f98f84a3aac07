"""Workloads as code: the schema of ``relitigate.yaml`` and its loader.

A complete, commented example lives in ``examples/relitigate.yaml``. In short::

    version: 1
    workloads:
      - name: ticket-triage
        owner: {email: owner@example.com, slack_channel: "#ml-platform"}
        case: cost_distillation            # or domain_expertise
        volume_per_day: 14000000
        fixed_costs_monthly_usd: 21000
        adopted: 2025Q2
        thresholds: {quality_ratio_min: 0.95}   # overrides only
        eval_set:
          path: evalsets/ticket-triage.jsonl    # relative to this file
          scorer: {kind: exact}
        fine_tune: {name: triage-ft, route: openai/sim-ft-triage, ...}
        buy: [{name: frontier, route: openai/sim-frontier, ...}]

:func:`load_workload_file` validates it and raises :class:`~registry.errors.WorkloadFileError`
naming the file, the line and the field of the first problem.
"""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from registry.errors import WorkloadFileError
from registry.models import Case, Runner
from registry.quarters import QUARTER_RE
from registry.yaml_lines import LineMap, load_yaml

Quarter = Annotated[str, StringConstraints(pattern=QUARTER_RE)]
"""A quarter, ``YYYYQn``."""
Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")]
"""A workload, candidate or eval-set name: letters, digits, ``.``, ``_`` and ``-``."""
EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,199}$")]
"""The NAME of an environment variable, never a key. In flow runs a variable missing from the
environment is read from the Prefect Secret block of that name in block form
(``OPENAI_API_KEY`` -> ``openai-api-key``; see :mod:`tasks.credentials`)."""
NonNegative = Annotated[float, Field(ge=0)]
Probability = Annotated[float, Field(gt=0, lt=1)]


class Strict(BaseModel):
    """Base of every model a user writes: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, frozen=True)


class Owner(Strict):
    """Who owns the workload and where its notices go (at least one of the three)."""

    email: (
        Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=320)]
        | None
    ) = None
    """Owner's email; the Slack user is looked up by it when ``slack_user`` is not given."""
    slack_user: Annotated[str, StringConstraints(pattern=r"^[UW][A-Z0-9]{2,}$")] | None = None
    """Slack member id (``U...``) to message directly."""
    slack_channel: Annotated[str, StringConstraints(min_length=2, max_length=200)] | None = None
    """Channel name (``#ml-platform``) or id (``C...``) for the notice."""

    @model_validator(mode="after")
    def _someone(self) -> Owner:
        if not (self.email or self.slack_user or self.slack_channel):
            raise ValueError("give at least one of email, slack_user, slack_channel")
        return self


class Thresholds(Strict):
    """Gate thresholds. Every field is optional; only the ones given override the defaults."""

    quality_ratio_min: Annotated[float, Field(gt=0, le=2)] = 0.95
    """cost_distillation: fine-tune quality / buy quality must stay at or above this."""
    min_volume_per_day: Annotated[int, Field(ge=0)] = 10_000_000
    """cost_distillation: production calls per day needed to justify distillation."""
    min_training_examples: Annotated[int, Field(ge=0)] = 10_000
    """domain_expertise: training examples on record needed to justify the fine-tune."""
    min_items: Annotated[int, Field(ge=1)] = 200
    """Eval sets with fewer items support no verdict (``inconclusive``)."""
    max_error_rate: Annotated[float, Field(ge=0, le=1)] = 0.05
    """Provider errors above this share of a side's items make the quarter inconclusive."""
    warning_horizon_quarters: Annotated[int, Field(ge=0, le=40)] = 2
    """``watch`` when the trend projects erosion within this many quarters."""
    significance_alpha: Probability = 0.05
    """Significance level of the paired tests and intervals."""
    domain_margin_min: Annotated[float, Field(ge=0, le=1)] = 0.0
    """domain_expertise: the fine-tune's score advantage over buy must exceed this margin
    (in score units, [0, 1]) and be significant at ``significance_alpha``."""


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
    params: dict[str, Any] = Field(default_factory=dict)
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
    options: dict[str, Any] = Field(default_factory=dict)
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
    timeout_s: Annotated[float, Field(gt=0)] | None = None
    """Per-attempt timeout."""
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
    api_base: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")] | None = None
    """OpenAI-compatible base URL (self-hosted servers, the simulator)."""
    api_key_env: EnvName | None = None
    """Name of the env var with the key (or its Secret block, see :data:`EnvName`). Never the
    key itself."""
    prompt: Prompt = Field(default_factory=Prompt)
    """System prompt, few-shot examples and template."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Generation parameters (``temperature``, ``max_tokens``, ...)."""
    pricing: Pricing | None = None
    """The candidate's own pricing (default: litellm's cost map for the route)."""
    serving: dict[str, Any] = Field(default_factory=dict)
    """Self-hosted runners: command template, model path, adapter, batch size, ..."""
    limits: Limits = Field(default_factory=Limits)
    """Concurrency, rate limits, timeout and retries for this route."""

    @model_validator(mode="after")
    def _serving_needs_self_hosted(self) -> CandidateSpec:
        if self.serving and self.runner == Runner.API:
            raise ValueError("serving is only for runner vllm or transformers")
        return self


class WorkloadSpec(Strict):
    """One production AI task and the candidates re-litigated for it."""

    name: Name
    """Unique across the file; the registry key."""
    description: str = ""
    """What the workload does, in a sentence."""
    owner: Owner
    """Who hears about the verdict."""
    case: Case
    """The gate the fine-tune was adopted under: cost_distillation or domain_expertise."""
    volume_per_day: Annotated[int, Field(ge=0)]
    """Production calls per day."""
    fixed_costs_monthly_usd: NonNegative = 0.0
    """The fine-tune's fixed monthly costs (reserved serving capacity, upkeep)."""
    training_examples: Annotated[int, Field(ge=0)] | None = None
    """High-quality training examples on record (domain_expertise gate)."""
    task_stable: bool = True
    """The task definition (eval set and prompt meaning) is unchanged."""
    domain_stable: bool = True
    """The domain knowledge is stable enough to avoid quarterly retraining."""
    adopted: Quarter | None = None
    """Quarter the fine-tune went to production (its age is measured from it)."""
    thresholds: Thresholds = Field(default_factory=Thresholds)
    """Overrides of the gate thresholds."""
    eval_set: EvalSetRef
    """The workload's eval set and scorer."""
    fine_tune: CandidateSpec
    """The production fine-tune."""
    buy: Annotated[list[CandidateSpec], Field(min_length=1)]
    """The buy alternatives (frontier models); the best of them this quarter is compared."""

    @model_validator(mode="after")
    def _unique_candidates(self) -> WorkloadSpec:
        seen: set[str] = set()
        for candidate in [self.fine_tune, *self.buy]:
            if candidate.name in seen:
                raise ValueError(f"candidate name {candidate.name!r} is used twice")
            seen.add(candidate.name)
        return self

    def threshold_overrides(self) -> dict[str, Any]:
        """Only the thresholds the file sets (what the registry stores)."""
        return self.thresholds.model_dump(mode="json", exclude_unset=True)


class WorkloadFile(Strict):
    """The whole ``relitigate.yaml``."""

    version: Literal[1] = 1
    """Schema version of this file."""
    workloads: list[WorkloadSpec]
    """Every workload relitigate manages. One missing here is archived on sync."""

    @model_validator(mode="after")
    def _unique_names(self) -> WorkloadFile:
        seen: set[str] = set()
        for workload in self.workloads:
            if workload.name in seen:
                raise ValueError(f"workload name {workload.name!r} is used twice")
            seen.add(workload.name)
        return self


def _field_path(loc: tuple[int | str, ...], lines: LineMap) -> tuple[tuple[str | int, ...], str]:
    """The loc minus pydantic's synthetic parts (union tags), and its dotted rendering."""
    kept: list[str | int] = []
    for i, part in enumerate(loc):
        candidate = (*kept, part)
        if candidate in lines or i == len(loc) - 1:
            kept.append(part)
    text = ""
    for part in kept:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return tuple(kept), text


def _validation_error(exc: ValidationError, path: Path, lines: LineMap) -> WorkloadFileError:
    # An unknown key is usually a misspelt one, which also shows up as a missing field:
    # report the spelling first.
    errors = sorted(exc.errors(include_url=False), key=lambda e: e["type"] != "extra_forbidden")
    first = errors[0]
    loc, field = _field_path(tuple(first["loc"]), lines)
    message = str(first["msg"]).removeprefix("Value error, ")
    secretish = any(w in str(loc[-1]).lower() for w in ("key", "token", "secret")) if loc else False
    if first["type"] == "extra_forbidden":
        message = "unknown field (check the spelling; see examples/relitigate.yaml)"
    elif secretish and first["type"] == "string_pattern_mismatch":
        # Never echo what may be a secret pasted into the wrong place.
        message = (
            "must be the NAME of an environment variable or Prefect Secret block "
            "(letters, digits, '_'), never the key itself"
        )
    elif first["type"] != "missing" and "input" in first and not secretish:
        value = first["input"]
        shown = repr(value)
        if (
            isinstance(value, str | int | float | bool)
            and len(shown) <= 60
            and shown not in message
        ):
            message += f" (got {shown})"
    if len(errors) > 1:
        message += f" [and {len(errors) - 1} more problem(s)]"
    return WorkloadFileError(message, path=path, line=lines.line_for(loc), field=field or None)


def load_workload_file(path: str | Path) -> WorkloadFile:
    """Read and validate a workloads file (see :func:`load_workload_file_with_lines`)."""
    return load_workload_file_with_lines(path)[0]


def load_workload_file_with_lines(path: str | Path) -> tuple[WorkloadFile, LineMap]:
    """Read and validate a workloads file, keeping the line of every key.

    Args:
        path: the ``relitigate.yaml`` to read.

    Returns:
        The validated file, and the line map (for errors found later, e.g. a missing eval set).

    Raises:
        WorkloadFileError: the file is missing, not UTF-8, not YAML, or does not match the
            schema; the message names the file, the line and the field.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError as exc:
        raise WorkloadFileError("file not found", path=path) from exc
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise WorkloadFileError(
            f"not UTF-8 (byte 0x{exc.object[exc.start]:02x})", path=path, line=line
        ) from exc
    except OSError as exc:
        raise WorkloadFileError(f"cannot read: {exc.strerror}", path=path) from exc
    data, lines = load_yaml(text, path)
    if data is None:
        raise WorkloadFileError("empty file: expected 'version' and 'workloads'", path=path)
    if not isinstance(data, dict):
        raise WorkloadFileError(
            f"expected a mapping with 'version' and 'workloads', got {type(data).__name__}",
            path=path,
            line=lines.line_for(()),
        )
    try:
        return WorkloadFile.model_validate(data), lines
    except ValidationError as exc:
        raise _validation_error(exc, path, lines) from None
