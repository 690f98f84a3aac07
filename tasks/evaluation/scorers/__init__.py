"""Scorers: small factories returning a :class:`~tasks.evaluation.types.Scorer`.

Build one from a workload's scorer settings (:data:`vocabulary.ScorerSettings`, or the same
as a mapping, as written in ``relitigate.yaml`` and stored in the registry)::

    build_scorer({"kind": "normalized"})
    build_scorer({"kind": "regex", "pattern": "^{target}$", "ignore_case": True})
    build_scorer({"kind": "json_field", "fields": ["label", "priority"]})
    build_scorer({"kind": "numeric", "tolerance": 0.01})
    build_scorer({"kind": "token_f1", "threshold": 0.6})
    build_scorer({"kind": "llm_judge", "route": "openai/gpt-4.1", "rubric": "...",
                  "api_key_env": "OPENAI_API_KEY"})
    build_scorer({"kind": "python", "callable": "my_pkg.scoring:score"})

The factories also take settings no workload declares (``exact(strip=False)``,
``regex(full=True)``...), for callers that build a scorer directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from tasks.evaluation.errors import ConfigurationError
from tasks.evaluation.scorers.f1 import token_f1
from tasks.evaluation.scorers.judge import LLMJudge, check_judge_independent, llm_judge
from tasks.evaluation.scorers.match import exact, normalized, regex
from tasks.evaluation.scorers.python_callable import python
from tasks.evaluation.scorers.structured import json_field, numeric
from tasks.evaluation.types import Pricing, Score, Scorer
from vocabulary import (
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


def settings_of(settings: ScorerSettings | Mapping[str, Any]) -> ScorerSettings:
    """Scorer settings validated by :mod:`vocabulary`'s rules.

    Raises:
        ConfigurationError: not one scorer's settings (the first problem, by field).
    """
    try:
        return scorer_settings(settings)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigurationError(
            f"scorer settings {where or '(whole)'}: {message}; see eval_set.scorer in "
            "examples/relitigate.yaml"
        ) from None


def build_scorer(
    settings: ScorerSettings | Mapping[str, Any], *, env: Mapping[str, str] | None = None
) -> Scorer:
    """The scorer the settings describe.

    Args:
        settings: a workload's scorer settings (``{"kind": ..., **settings}`` as a mapping).
        env: where an LLM judge's key is looked up (default: the process environment).

    Raises:
        ConfigurationError: bad settings, or a judge without a key, route or price.
    """
    s = settings_of(settings)
    match s:
        case ExactScorer():
            return exact()
        case NormalizedScorer():
            return normalized()
        case RegexScorer():
            return regex(s.pattern, ignore_case=s.ignore_case)
        case JsonFieldScorer():
            return json_field(s.fields)
        case NumericScorer():
            return numeric(tolerance=s.tolerance, relative=s.relative)
        case TokenF1Scorer():
            return token_f1(threshold=s.threshold)
        case LlmJudgeScorer():
            return llm_judge(
                s.route,
                s.rubric,
                api_base=s.api_base,
                api_key_env=s.api_key_env,
                threshold=s.threshold,
                params=s.params,
                pricing=Pricing.from_declared(s.pricing),
                env=env,
            )
        case PythonScorer():
            return python(s.callable, threshold=s.threshold)


def check_scorer(settings: ScorerSettings | Mapping[str, Any]) -> None:
    """Build the scorer the settings describe, as a benchmark would, short of what needs the
    run's environment: an LLM judge's key and a Python scorer's module are not looked up
    (their settings are checked by :func:`settings_of`).

    Raises:
        ConfigurationError: the engine would refuse the settings.
    """
    s = settings_of(settings)
    if isinstance(s, LlmJudgeScorer):
        Pricing.from_declared(s.pricing)
    elif not isinstance(s, PythonScorer):
        build_scorer(s)


__all__ = [
    "LLMJudge",
    "Score",
    "Scorer",
    "build_scorer",
    "check_judge_independent",
    "check_scorer",
    "exact",
    "json_field",
    "llm_judge",
    "normalized",
    "numeric",
    "python",
    "regex",
    "settings_of",
    "token_f1",
]
