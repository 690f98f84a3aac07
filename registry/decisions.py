"""Decisions: one verdict per (workload, quarter), with its evidence.

Functions take a ``Session`` and never commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.errors import ConflictError, InvalidValueError
from registry.models import Decision, Verdict
from registry.quarters import check_quarter


def get_decision(session: Session, workload_id: int, quarter: str) -> Decision | None:
    """The decision of a workload for a quarter, or None."""
    return session.scalar(
        select(Decision).where(
            Decision.workload_id == workload_id, Decision.quarter == check_quarter(quarter)
        )
    )


def save_decision(
    session: Session,
    *,
    workload_id: int,
    quarter: str,
    verdict: Verdict | str,
    metrics: Mapping[str, Any],
    gates: Sequence[Any] | Mapping[str, Any],
    trend: Mapping[str, Any],
    reproducibility: Mapping[str, Any],
    memo: str,
    next_review: date | None,
    fine_tune_run_id: int | None,
    buy_run_id: int | None,
    replace: bool = False,
) -> Decision:
    """Record the quarter's decision for a workload.

    Args:
        replace: overwrite an existing decision for the same (workload, quarter) instead of
            refusing.

    Returns:
        The stored decision.

    Raises:
        ConflictError: a decision exists and ``replace`` is false.
        InvalidValueError: bad quarter or verdict.
    """
    check_quarter(quarter)
    try:
        verdict = Verdict(verdict)
    except ValueError as exc:
        raise InvalidValueError(
            f"bad verdict {verdict!r}: one of {[v.value for v in Verdict]}"
        ) from exc
    values: dict[str, Any] = {
        "verdict": verdict,
        "metrics": dict(metrics),
        "gates": list(gates) if not isinstance(gates, Mapping) else dict(gates),
        "trend": dict(trend),
        "reproducibility": dict(reproducibility),
        "memo": memo,
        "next_review": next_review,
        "fine_tune_run_id": fine_tune_run_id,
        "buy_run_id": buy_run_id,
    }
    decision = get_decision(session, workload_id, quarter)
    if decision is None:
        decision = Decision(workload_id=workload_id, quarter=quarter, **values)
        session.add(decision)
    elif not replace:
        raise ConflictError(
            f"a decision for workload {workload_id} in {quarter} already exists "
            f"({decision.verdict}); pass replace=True (CLI: --replace) to overwrite it"
        )
    else:
        for key, value in values.items():
            setattr(decision, key, value)
    session.flush()
    return decision


def decision_history(session: Session, workload_id: int) -> list[Decision]:
    """All decisions of a workload, oldest quarter first."""
    return list(
        session.scalars(
            select(Decision).where(Decision.workload_id == workload_id).order_by(Decision.quarter)
        )
    )
