"""Scorers: small factories returning a :class:`~tasks.evaluation.types.Scorer`.

Build one from workload configuration with :func:`build_scorer`::

    build_scorer({"type": "normalized"})
    build_scorer({"type": "regex", "pattern": "^{target}$", "ignore_case": True})
    build_scorer({"type": "json_fields", "fields": ["label", "priority"]})
    build_scorer({"type": "numeric", "abs_tol": 0.01})
    build_scorer({"type": "token_f1", "threshold": 0.6})
    build_scorer({"type": "llm_judge", "route": "openai/gpt-4.1", "rubric": "...",
                  "api_key_env": "OPENAI_API_KEY"})
    build_scorer({"type": "python", "path": "my_pkg.scoring:score"})
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from tasks.evaluation.errors import ConfigurationError
from tasks.evaluation.scorers.f1 import token_f1
from tasks.evaluation.scorers.judge import LLMJudge, check_judge_independent, llm_judge
from tasks.evaluation.scorers.match import exact, normalized, regex
from tasks.evaluation.scorers.python_callable import python
from tasks.evaluation.scorers.structured import json_fields, numeric
from tasks.evaluation.types import Score, Scorer

SCORERS: dict[str, Callable[..., Scorer]] = {
    "exact": exact,
    "normalized": normalized,
    "regex": regex,
    "json_fields": json_fields,
    "json_field": json_fields,
    "numeric": numeric,
    "token_f1": token_f1,
    "llm_judge": llm_judge,
    "python": python,
}


def build_scorer(spec: Mapping[str, Any]) -> Scorer:
    """The scorer a ``{"type": name, **settings}`` mapping describes."""
    settings = dict(spec)
    kind = settings.pop("type", None)
    factory = SCORERS.get(kind) if isinstance(kind, str) else None
    if factory is None:
        raise ConfigurationError(
            f"scorer type {kind!r} is unknown; use one of {', '.join(sorted(SCORERS))}"
        )
    try:
        inspect.signature(factory).bind(**settings)
    except TypeError as exc:
        raise ConfigurationError(
            f"scorer {kind!r}: bad settings {sorted(settings)} ({exc}); accepted: "
            f"{', '.join(inspect.signature(factory).parameters)}"
        ) from exc
    return factory(**settings)


__all__ = [
    "SCORERS",
    "LLMJudge",
    "Score",
    "Scorer",
    "build_scorer",
    "check_judge_independent",
    "exact",
    "json_fields",
    "llm_judge",
    "normalized",
    "numeric",
    "python",
    "regex",
    "token_f1",
]
