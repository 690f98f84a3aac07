"""The plain rows the report is built from: one per (workload, quarter) decision.

The reader (``tasks.report.reader``) fills them from the registry; everything else in this
package takes them (or the DataFrames built from them) and never touches a database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """One workload and (when it has one) one of its decisions, as stored.

    ``metrics``, ``gates``, ``trend`` and ``reproducibility`` are the registry's JSON
    columns as the decide task wrote them (see ``tasks/decide.py``).
    """

    workload: str
    case: str
    quarter: str | None = None
    """None: the workload has no decision (in the quarter asked for)."""
    verdict: str | None = None
    owner_email: str | None = None
    volume_per_day: float | None = None
    """The workload's declared volume (the decision's own figure wins when present)."""
    adopted_quarter: str | None = None
    metrics: Mapping[str, Any] = field(default_factory=dict)
    gates: Sequence[Mapping[str, Any]] = ()
    trend: Mapping[str, Any] = field(default_factory=dict)
    reproducibility: Mapping[str, Any] = field(default_factory=dict)
    notice_kind: str | None = None
    notice_status: str | None = None


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a candidate answers: what a router needs, never a secret."""

    name: str
    route: str
    """litellm route, e.g. ``openai/gpt-5`` or ``hosted_vllm/triage-ft-v3``."""
    api_base: str | None = None
    api_key_env: str | None = None
    """NAME of the environment variable holding the key."""
    runner: str = "api"
    params: Mapping[str, Any] = field(default_factory=dict)
    """The generation parameters benchmarked (``temperature``, ``max_tokens``, ...)."""
    prompt: Mapping[str, Any] = field(default_factory=dict)
    """The prompt benchmarked (``system``, ``few_shot``, ``template``)."""
    production_api_base: str | None = None
    """Where production calls it, when not at ``api_base`` (a self-hosted fine-tune)."""


@dataclass(frozen=True, slots=True)
class RoutingRecord:
    """What the routing table needs to know about one workload."""

    workload: str
    fine_tune: Endpoint | None
    """The workload's active fine-tune (None: it has none)."""
    latest_quarter: str | None = None
    latest_verdict: str | None = None
    latest_reasons: tuple[str, ...] = ()
    latest_deprecation: str | None = None
    """What goes away and when, if the deprecation rule made the latest verdict ``watch``."""
    latest_buy: Endpoint | None = None
    """The buy alternative the latest decision judged against."""
    conclusive_quarter: str | None = None
    """The newest quarter whose verdict was not inconclusive (None: none yet)."""
    conclusive_verdict: str | None = None
    conclusive_buy: Endpoint | None = None
    """The buy alternative that newest conclusive decision judged against."""
    marked_done: tuple[str, str] | None = None
    """The owner's "Mark as done" on the latest decision: (Slack user, UTC date). Production
    no longer calls the fine-tune, so the route follows the buy alternative."""
