"""Which notice, if any, a decision calls for. Pure: no I/O, no clock.

=============  ================================================  ===========================
verdict        notice                                            audience
=============  ================================================  ===========================
retire         every quarter it holds                            the owner
watch          only when new: the previous decision was not a    the owner
               watch, or the projected erosion moved closer
inconclusive   every quarter it holds (someone must fix the      the platform channel
               provider or the eval set)                         (none configured: nothing)
keep           nothing                                           -
=============  ================================================  ===========================

Re-runs of the same quarter never send twice: the outbox keeps one notice per
(workload, quarter, kind).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from tasks.notify.facts import NoticeKind, Verdict

Audience = Literal["owner", "platform"]

_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")


@dataclass(frozen=True)
class PriorDecision:
    """The workload's previous decision, as far as the policy needs it.

    Attributes:
        quarter: Its quarter, ``YYYYQn``.
        verdict: Its verdict.
        projected_erosion_quarter: The erosion quarter it projected, if any.
    """

    quarter: str
    verdict: Verdict
    projected_erosion_quarter: str | None = None


@dataclass(frozen=True)
class NoticePlan:
    """A notice to enqueue.

    Attributes:
        kind: What the notice is about.
        audience: Who reads it.
        destination: The channel for platform notices; None for owner notices (delivery
            resolves the owner from the workload when it sends).
    """

    kind: NoticeKind
    audience: Audience
    destination: str | None = None


def quarter_index(quarter: str) -> int:
    """``2026Q3`` -> an integer that orders quarters (``year * 4 + q - 1``).

    Raises:
        ValueError: ``quarter`` is not ``YYYYQn``.
    """
    match = _QUARTER.match(quarter)
    if match is None:
        raise ValueError(f"quarter must look like 2026Q3, got {quarter!r}")
    return int(match.group(1)) * 4 + int(match.group(2)) - 1


def is_new_watch(projected_erosion_quarter: str | None, previous: PriorDecision | None) -> bool:
    """Whether a ``watch`` deserves a notice given the workload's previous decision.

    It does the first quarter it appears (no previous decision, or a previous one that was
    not ``watch``), and when the projected erosion moved closer than the previous watch
    projected (including a projection appearing where there was none).
    """
    if previous is None or previous.verdict != "watch":
        return True
    if projected_erosion_quarter is None:
        return False
    if previous.projected_erosion_quarter is None:
        return True
    return quarter_index(projected_erosion_quarter) < quarter_index(
        previous.projected_erosion_quarter
    )


def plan_notice(
    verdict: Verdict,
    *,
    projected_erosion_quarter: str | None = None,
    previous: PriorDecision | None = None,
    platform_channel: str | None = None,
) -> NoticePlan | None:
    """The notice a decision calls for, or None.

    Args:
        verdict: This quarter's verdict.
        projected_erosion_quarter: This quarter's projected erosion, for ``watch``.
        previous: The workload's previous decision (the quarter before), if any.
        platform_channel: The platform team's channel, for ``inconclusive``.

    Returns:
        The plan to enqueue, or None when nobody needs to hear about it.
    """
    if verdict == "retire":
        return NoticePlan(kind="retire", audience="owner")
    if verdict == "watch":
        if is_new_watch(projected_erosion_quarter, previous):
            return NoticePlan(kind="watch", audience="owner")
        return None
    if verdict == "inconclusive":
        if platform_channel:
            return NoticePlan(
                kind="inconclusive", audience="platform", destination=platform_channel
            )
        return None
    return None


def plan_digest(platform_channel: str | None) -> NoticePlan | None:
    """The quarter digest's plan: to the platform channel, when one is configured."""
    if not platform_channel:
        return None
    return NoticePlan(kind="digest", audience="platform", destination=platform_channel)
