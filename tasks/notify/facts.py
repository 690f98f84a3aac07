"""What a notice says: plain frozen data the notice task maps a decision into.

Nothing here reads the registry or Slack. Money is in US dollars, quality in the scorer's
units (a pass rate for pass/fail scorers), quarters are ``YYYYQn`` strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Verdict = Literal["keep", "watch", "retire", "inconclusive"]
"""The decision's verdict."""

NoticeKind = Literal["retire", "watch", "inconclusive", "digest"]
"""What a notice is about; one notice per (workload, quarter, kind)."""

Case = Literal["cost_distillation", "domain_expertise"]
"""The gate under which the fine-tune was adopted."""


@dataclass(frozen=True)
class Interval:
    """A confidence interval (95% unless the decision says otherwise)."""

    low: float
    high: float


@dataclass(frozen=True)
class SideFacts:
    """One side of the head-to-head: the fine-tune or the buy alternative.

    Attributes:
        model: The candidate's name or route, e.g. ``openai/gpt-5``.
        quality: Mean score on the eval set.
        quality_ci: Its confidence interval, when known.
        cost_per_useful_task: Total cost / items that passed, in dollars; None when no item
            passed.
    """

    model: str
    quality: float
    quality_ci: Interval | None = None
    cost_per_useful_task: float | None = None


@dataclass(frozen=True)
class GateFacts:
    """A gate the fine-tune failed, with the evidence in words (``0.91 < 0.95``)."""

    name: str
    evidence: str


@dataclass(frozen=True)
class TrendFacts:
    """Where the fine-tune is in its life (the frame expects 4 to 8 quarters).

    Attributes:
        quarters_since_adoption: Quarters since the fine-tune went to production.
        projected_erosion_quarter: The quarter the fitted trend crosses the gate, if any.
    """

    quarters_since_adoption: int | None = None
    projected_erosion_quarter: str | None = None


@dataclass(frozen=True)
class OwnerDestinations:
    """Where the owner can be reached, in the order delivery tries them.

    Attributes:
        slack_user: The owner's Slack user id (``U...``): a direct message.
        email: Resolved with ``users.lookupByEmail`` when no user id is known.
        channel: The workload's channel, when the owner cannot be reached directly.
    """

    slack_user: str | None = None
    email: str | None = None
    channel: str | None = None


@dataclass(frozen=True)
class NoticeFacts:
    """Everything one notice says about one workload's decision.

    Attributes:
        workload: The workload's name, e.g. ``ticket-triage``.
        quarter: The decision's quarter, ``YYYYQn``.
        verdict: The decision's verdict.
        case: The gate under which the fine-tune was adopted.
        quality_ratio: Fine-tune quality / buy quality.
        quality_ratio_ci: 95% interval of that ratio (inverted paired score test).
        finetune: The fine-tune's side.
        buy: The best buy alternative this quarter.
        monthly_savings_usd: What the fine-tune saves per month at the current volume, net of
            its fixed costs; negative when it costs more than buying.
        calls_per_day: The production volume the savings assume.
        failed_gates: The gates that failed, with evidence (empty for ``keep``).
        recommended_action: One sentence: what the owner should do.
        trend: Quarters since adoption and projected erosion.
        memo_url: Link to the memo artifact, when known.
        flow_run_url: Link to the Prefect flow run, when a Prefect UI URL is known.
        owner: Where the owner can be reached.
        reason: For ``inconclusive``: why no verdict could be reached.
        deprecation: For a ``watch`` the deprecation rule decided: what goes away and when.
    """

    workload: str
    quarter: str
    verdict: Verdict
    case: Case
    quality_ratio: float
    quality_ratio_ci: Interval | None
    finetune: SideFacts
    buy: SideFacts
    monthly_savings_usd: float
    recommended_action: str
    calls_per_day: int | None = None
    failed_gates: tuple[GateFacts, ...] = ()
    trend: TrendFacts = field(default_factory=TrendFacts)
    memo_url: str | None = None
    flow_run_url: str | None = None
    owner: OwnerDestinations = field(default_factory=OwnerDestinations)
    reason: str | None = None
    deprecation: str | None = None


@dataclass(frozen=True)
class DigestLine:
    """One workload's line in a quarter digest.

    Attributes:
        workload: The workload's name.
        verdict: Its verdict this quarter.
        quality_ratio: Fine-tune quality / buy quality, when known.
        monthly_savings_usd: Net monthly savings of the fine-tune at the current volume
            (negative: buying is cheaper), when known.
        projected_erosion_quarter: The quarter the trend crosses the gate, if any.
        quality_ratio_ci: The ratio's 95% interval (inverted paired score test), when known.
    """

    workload: str
    verdict: Verdict
    quality_ratio: float | None = None
    monthly_savings_usd: float | None = None
    projected_erosion_quarter: str | None = None
    quality_ratio_ci: Interval | None = None


@dataclass(frozen=True)
class OpenLine:
    """A decision whose notice went out and that nobody has marked done.

    Attributes:
        workload: The workload's name.
        quarter: The decision's quarter.
        kind: The notice's kind (``retire``, ``watch``, ``inconclusive``).
        state: ``open`` (no action yet), ``acknowledge``, ``snooze`` or ``dispute``.
        age_days: Days since the notice was sent.
    """

    workload: str
    quarter: str
    kind: str
    state: str
    age_days: float


@dataclass(frozen=True)
class DigestFacts:
    """A quarter's decisions for the platform channel, and the decisions still open."""

    quarter: str
    lines: tuple[DigestLine, ...]
    flow_run_url: str | None = None
    open_decisions: tuple[OpenLine, ...] = ()
