"""Enumerations that the workloads file, the registry and the engines share.

Each is a :class:`enum.StrEnum`: a member and its string compare equal, so plain strings (the
user's YAML, a stored column) and members may be passed interchangeably.
"""

from __future__ import annotations

import enum


class Case(enum.StrEnum):
    """The gate under which a workload's fine-tune was adopted."""

    COST_DISTILLATION = "cost_distillation"
    DOMAIN_EXPERTISE = "domain_expertise"


class CandidateRole(enum.StrEnum):
    """Whether a candidate is the workload's fine-tune or a buy alternative."""

    FINE_TUNE = "fine_tune"
    BUY = "buy"


class Runner(enum.StrEnum):
    """How a candidate is called: a litellm route, a vLLM server, or in-process transformers."""

    API = "api"
    VLLM = "vllm"
    TRANSFORMERS = "transformers"


class ErrorKind(enum.StrEnum):
    """Why an item has no valid answer (never a quality judgement).

    The evaluation engine sets it on an item's result, the registry stores it as is, and a
    retry pass reads it back to decide whether calling the item again can help.
    """

    RATE_LIMIT = "rate_limit"
    """The provider answered 429 until the item's attempts ran out."""
    SERVER = "server"
    """5xx, 408/409, or a malformed reply."""
    TIMEOUT = "timeout"
    """No reply within the candidate's ``limits.timeout_s``."""
    CONNECTION = "connection"
    """The endpoint could not be reached."""
    SCORER = "scorer"
    """The model answered, but the workload's scorer raised on the answer."""
    PERMANENT = "permanent"
    """Retrying cannot help (a refused request); a retry pass leaves it alone."""
    BUDGET = "budget"
    """Not called: the run's budget cap was reached; a retry pass leaves it alone."""
    OTHER = "other"
    """Anything else (and rows stored before a finer kind existed)."""


class Verdict(enum.StrEnum):
    """The quarter's decision for a workload."""

    KEEP = "keep"
    WATCH = "watch"
    RETIRE = "retire"
    INCONCLUSIVE = "inconclusive"
