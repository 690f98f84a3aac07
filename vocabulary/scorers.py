"""How an output is scored against its item's target: one settings model per scorer ``kind``.

The workloads file declares one under ``eval_set.scorer``, the registry stores it as written
(``workloads.scorer``), and the evaluation engine builds the scorer from it
(``tasks.evaluation.scorers.build_scorer``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, get_args

from pydantic import Field, StringConstraints, TypeAdapter, field_validator

from vocabulary.candidates import Pricing
from vocabulary.fields import EnvName, JsonObject, NonNegative, Share, Strict


class ExactScorer(Strict):
    """Output equals the target exactly (after stripping surrounding whitespace)."""

    kind: Literal["exact"] = "exact"


class NormalizedScorer(Strict):
    """Output equals the target after case, whitespace and punctuation are normalised."""

    kind: Literal["normalized"] = "normalized"


class RegexScorer(Strict):
    """Output matches a regular expression (``{target}`` in it is replaced by the target)."""

    kind: Literal["regex"] = "regex"
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

    kind: Literal["json_field"] = "json_field"
    fields: Annotated[list[Annotated[str, StringConstraints(min_length=1)]], Field(min_length=1)]
    """Dotted paths into the JSON output, e.g. ``category`` or ``routing.queue``."""


class NumericScorer(Strict):
    """Output parses as a number within a tolerance of the target."""

    kind: Literal["numeric"] = "numeric"
    tolerance: NonNegative = 0.0
    """Allowed absolute difference (relative when ``relative``)."""
    relative: bool = False
    """Treat ``tolerance`` as a fraction of the target."""


class TokenF1Scorer(Strict):
    """Token-overlap F1 between output and target; passes at or above ``threshold``."""

    kind: Literal["token_f1"] = "token_f1"
    threshold: Share = 0.5
    """F1 needed to pass."""


class LlmJudgeScorer(Strict):
    """A judge model grades the output against the target with a rubric."""

    kind: Literal["llm_judge"] = "llm_judge"
    route: Annotated[str, StringConstraints(min_length=1)]
    """litellm route of the judge; it may not be one of the contestants."""
    api_base: str | None = None
    """OpenAI-compatible base URL of the judge, if not the provider's default."""
    api_key_env: EnvName | None = None
    """Name of the env var or Secret block holding the judge's key."""
    rubric: Annotated[str, StringConstraints(min_length=1)]
    """What a correct answer looks like; shown to the judge with the item and target."""
    threshold: Share = 0.5
    """Judge score needed to pass."""
    params: JsonObject = Field(default_factory=dict)
    """Generation parameters for the judge."""
    pricing: Pricing | None = None
    """The judge's own pricing, when litellm does not know the route."""


class PythonScorer(Strict):
    """A Python callable named by import path ``package.module:function``."""

    kind: Literal["python"] = "python"
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

    @property
    def threshold(self) -> float:
        """The score needed to pass (``options.threshold``, default 1.0)."""
        return float(self.options.get("threshold", 1.0))


ScorerSettings = Annotated[
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
"""Any scorer's settings, told apart by ``kind``."""

SCORER_KINDS: tuple[str, ...] = tuple(
    model.model_fields["kind"].default for model in get_args(get_args(ScorerSettings)[0])
)
"""Every scorer ``kind``, in the order above."""

_ADAPTER: TypeAdapter[ScorerSettings] = TypeAdapter(ScorerSettings)


def scorer_settings(value: ScorerSettings | Mapping[str, Any]) -> ScorerSettings:
    """Scorer settings from a model, or from a mapping as written in the file or stored in
    the registry (``{"kind": ..., **settings}``; no ``kind``: exact).

    Raises:
        pydantic.ValidationError: the mapping is not one scorer's settings.
    """
    if not isinstance(value, Mapping):
        return value
    return _ADAPTER.validate_python({"kind": "exact", **value})
