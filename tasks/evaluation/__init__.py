"""The evaluation engine: run a candidate over eval items, priced, scored, checkpointed.

Ground floor: imports litellm only in :mod:`tasks.evaluation.litellm_api` (lazily, offline),
and never the registry, the decision core, Prefect or the front door; results leave through a
:class:`~tasks.evaluation.types.ResultSink`.
"""

from tasks.evaluation.errors import (
    BudgetExceeded,
    ConfigurationError,
    EvaluationError,
    MissingCredentialsError,
    PermanentProviderError,
    UnknownModelError,
)
from tasks.evaluation.runner import run_candidate
from tasks.evaluation.types import (
    CandidateSpec,
    EvalItem,
    FewShot,
    ItemResult,
    Limits,
    Pricing,
    ProgressCallback,
    ProgressUpdate,
    PromptSpec,
    ResultSink,
    RunSummary,
    Score,
    Scorer,
)

__all__ = [
    "BudgetExceeded",
    "CandidateSpec",
    "ConfigurationError",
    "EvalItem",
    "EvaluationError",
    "FewShot",
    "ItemResult",
    "Limits",
    "MissingCredentialsError",
    "PermanentProviderError",
    "Pricing",
    "ProgressCallback",
    "ProgressUpdate",
    "PromptSpec",
    "ResultSink",
    "RunSummary",
    "Score",
    "Scorer",
    "UnknownModelError",
    "run_candidate",
]
