"""The quarter digest for the platform channel, from recorded decisions. Pure: no I/O.

The digest task reads each active workload's decision for the quarter from the registry and
hands the stored JSON (``metrics``, ``trend``) here. One digest per quarter, enqueued once
every active workload has a decision for it: the outbox keeps the first digest of a quarter
for good (re-runs never send a second), so a digest written while a workload was still
undecided would stay incomplete.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from tasks.notify.facts import DigestFacts, DigestLine, Interval, OpenLine, Verdict

_VERDICTS = frozenset({"keep", "watch", "retire", "inconclusive"})


class DigestDataError(ValueError):
    """A recorded decision cannot be put in a digest (an unknown verdict)."""


@dataclass(frozen=True)
class RecordedDecision:
    """One workload's decision for the quarter, as stored in the registry.

    Attributes:
        workload: The workload's name.
        verdict: The stored verdict.
        metrics: The decision's ``metrics`` JSON (``ratio``, ``money``, ...).
        trend: The decision's ``trend`` JSON (``projected_erosion_quarter``, ...).
    """

    workload: str
    verdict: str
    metrics: Mapping[str, Any]
    trend: Mapping[str, Any]


@dataclass(frozen=True)
class DigestPlan:
    """Whether a quarter's digest can be written now.

    Attributes:
        facts: The digest, or None when it cannot be written yet.
        reason: Why not (names the undecided workloads), when ``facts`` is None.
    """

    facts: DigestFacts | None
    reason: str = ""


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return cast(Mapping[str, Any], value) if isinstance(value, Mapping) else {}


def digest_line(decision: RecordedDecision) -> DigestLine:
    """One digest line: verdict, quality ratio with its interval, savings, projected erosion.

    Missing or non-finite numbers (an ``inconclusive`` decision may have none) are left out.

    Raises:
        DigestDataError: The stored verdict is not one of keep, watch, retire, inconclusive.
    """
    if decision.verdict not in _VERDICTS:
        raise DigestDataError(
            f"workload {decision.workload!r}: unknown verdict {decision.verdict!r}"
        )
    ratio = _mapping(decision.metrics.get("ratio"))
    low, high = _number(ratio.get("low")), _number(ratio.get("high"))
    erosion = decision.trend.get("projected_erosion_quarter")
    return DigestLine(
        workload=decision.workload,
        verdict=cast(Verdict, decision.verdict),
        quality_ratio=_number(ratio.get("value")),
        monthly_savings_usd=_number(
            _mapping(decision.metrics.get("money")).get("net_monthly_savings_usd")
        ),
        projected_erosion_quarter=erosion if isinstance(erosion, str) and erosion else None,
        quality_ratio_ci=None if low is None or high is None else Interval(low, high),
    )


def plan_quarter_digest(
    quarter: str,
    decisions: Mapping[str, RecordedDecision | None],
    *,
    flow_run_url: str | None = None,
    open_decisions: Sequence[OpenLine] = (),
) -> DigestPlan:
    """The quarter's digest, if every active workload has a decision for it.

    Args:
        quarter: ``YYYYQn``.
        decisions: Each active workload's name -> its decision for ``quarter`` (None when
            it has none yet).
        flow_run_url: The quarter flow run's link, when a Prefect UI URL is known.
        open_decisions: Decisions whose notice went out and that are not done yet.

    Returns:
        The digest facts, or the reason there is none yet (no workloads, or undecided ones).
    """
    if not decisions:
        return DigestPlan(None, f"no active workloads: no digest for {quarter}")
    undecided = sorted(name for name, d in decisions.items() if d is None)
    if undecided:
        return DigestPlan(
            None,
            f"no digest for {quarter} yet: {len(undecided)} workload(s) undecided "
            f"({', '.join(undecided)}); it is enqueued once every workload is decided",
        )
    recorded: Sequence[RecordedDecision] = [d for d in decisions.values() if d is not None]
    lines = tuple(digest_line(d) for d in sorted(recorded, key=lambda d: d.workload))
    return DigestPlan(
        DigestFacts(
            quarter=quarter, lines=lines, flow_run_url=flow_run_url,
            open_decisions=tuple(open_decisions),
        )
    )  # fmt: skip
