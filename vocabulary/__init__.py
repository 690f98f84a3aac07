"""One vocabulary from ``relitigate.yaml`` to the engines.

What a user declares about a workload (gate thresholds, scorer settings, a candidate's
prompt, pricing and limits) and the kinds that the registry and the engines share (case,
role, runner, error kind, verdict) are each defined here, once, as pydantic models and
enumerations.

Where it sits: at the bottom, under the registry, the engines and the front door alike.
It imports pydantic and the standard library only, so every layer may import it without
importing another (the registry, the evaluation engine and the decision core still never
import each other).

Names: the user's. A field is called in the engines what the user writes in the YAML
(``kind``, ``threshold``, ``significance_alpha``, ``domain_margin_min``...), and the rules
that validate the file at ``sync`` are the rules the engines apply, because they are the same
models. The registry stores each declaration in the user's form (``workloads.thresholds``
holds only the overrides written, ``workloads.scorer`` the scorer settings as written), and
the engines read those rows back through the same models.

A conversion remains only where a type truly changes: an ORM row into a frozen value object
(``tasks.mapping``), or per-million-token prices into exact per-token ``Decimal`` prices
(``tasks.evaluation.types.Pricing``).
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vocabulary.candidates import FewShotExample, Limits, Pricing, Prompt
    from vocabulary.fields import (
        BIGINT_MAX,
        NAME_PATTERN,
        Count,
        EnvName,
        JsonObject,
        Name,
        NonNegative,
        Share,
        Strict,
    )
    from vocabulary.kinds import CandidateRole, Case, ErrorKind, Runner, Verdict
    from vocabulary.scorers import (
        SCORER_KINDS,
        ExactScorer,
        JsonFieldScorer,
        LlmJudgeScorer,
        NormalizedScorer,
        NumericScorer,
        PythonScorer,
        RegexScorer,
        ScorerSettings,
        TokenF1Scorer,
        scorer_settings,
    )
    from vocabulary.thresholds import Thresholds

_WHERE: dict[str, str] = {
    "BIGINT_MAX": "vocabulary.fields",
    "CandidateRole": "vocabulary.kinds",
    "Case": "vocabulary.kinds",
    "Count": "vocabulary.fields",
    "EnvName": "vocabulary.fields",
    "ErrorKind": "vocabulary.kinds",
    "ExactScorer": "vocabulary.scorers",
    "FewShotExample": "vocabulary.candidates",
    "JsonFieldScorer": "vocabulary.scorers",
    "JsonObject": "vocabulary.fields",
    "Limits": "vocabulary.candidates",
    "LlmJudgeScorer": "vocabulary.scorers",
    "NAME_PATTERN": "vocabulary.fields",
    "Name": "vocabulary.fields",
    "NonNegative": "vocabulary.fields",
    "NormalizedScorer": "vocabulary.scorers",
    "NumericScorer": "vocabulary.scorers",
    "Pricing": "vocabulary.candidates",
    "Prompt": "vocabulary.candidates",
    "PythonScorer": "vocabulary.scorers",
    "RegexScorer": "vocabulary.scorers",
    "Runner": "vocabulary.kinds",
    "SCORER_KINDS": "vocabulary.scorers",
    "ScorerSettings": "vocabulary.scorers",
    "Share": "vocabulary.fields",
    "Strict": "vocabulary.fields",
    "Thresholds": "vocabulary.thresholds",
    "TokenF1Scorer": "vocabulary.scorers",
    "Verdict": "vocabulary.kinds",
    "scorer_settings": "vocabulary.scorers",
}
"""Each name above and the module defining it: imported on first use (:func:`__getattr__`),
so ``from vocabulary.kinds import Verdict`` (the registry's tables) builds no pydantic model."""


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'vocabulary' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "BIGINT_MAX",
    "NAME_PATTERN",
    "SCORER_KINDS",
    "CandidateRole",
    "Case",
    "Count",
    "EnvName",
    "ErrorKind",
    "ExactScorer",
    "FewShotExample",
    "JsonFieldScorer",
    "JsonObject",
    "Limits",
    "LlmJudgeScorer",
    "Name",
    "NonNegative",
    "NormalizedScorer",
    "NumericScorer",
    "Pricing",
    "Prompt",
    "PythonScorer",
    "RegexScorer",
    "Runner",
    "ScorerSettings",
    "Share",
    "Strict",
    "Thresholds",
    "TokenF1Scorer",
    "Verdict",
    "scorer_settings",
]
