"""Decisions: one verdict per (workload, quarter), with its evidence.

A decision is written once and then only replaced on purpose, and every write is safe against
a second process writing the same quarter at the same time (:func:`write_decision`):

- the first write inserts; a process that loses the race gets the winner's decision back,
  unchanged, with ``written=False`` (so it records no second notice);
- a replacement (``replace=True``: ``--force`` or ``--fresh``) always overwrites, and one that
  names the revision it ``supersedes`` (a retry of an ``inconclusive`` quarter) overwrites
  only while that revision is the one stored: of two processes retrying the same decision,
  the second finds it already replaced and keeps the new one.

The decision being replaced is copied to ``decision_revisions`` first, and ``revision`` counts
up, so a quarter's earlier verdicts stay on record. Functions take a ``Session`` and never
commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, TypedDict, Unpack

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.db import dialect_insert
from registry.errors import ConflictError, InvalidValueError
from registry.models import Decision, DecisionRevision, Verdict, utcnow
from registry.quarters import check_quarter


@dataclass(frozen=True)
class DecisionWrite:
    """The outcome of :func:`write_decision`."""

    decision: Decision
    """The decision now stored (this caller's, or the one that was there first)."""
    written: bool
    """True when this caller's decision was stored; False when another one stands."""


def get_decision(session: Session, workload_id: int, quarter: str) -> Decision | None:
    """The decision of a workload for a quarter, or None."""
    return session.scalar(
        select(Decision)
        .where(Decision.workload_id == workload_id, Decision.quarter == check_quarter(quarter))
        .execution_options(populate_existing=True)
    )


class DecisionFields(TypedDict):
    """What a decision records (the keyword arguments of :func:`write_decision`)."""

    verdict: Verdict | str
    metrics: Mapping[str, Any]
    gates: Sequence[Any] | Mapping[str, Any]
    trend: Mapping[str, Any]
    reproducibility: Mapping[str, Any]
    memo: str
    next_review: date | None
    fine_tune_run_id: int | None
    buy_run_id: int | None


def _values(fields: DecisionFields, attempt: int) -> dict[str, Any]:
    try:
        verdict = Verdict(fields["verdict"])
    except ValueError as exc:
        raise InvalidValueError(
            f"bad verdict {fields['verdict']!r}: one of {[v.value for v in Verdict]}"
        ) from exc
    if attempt < 1:
        raise InvalidValueError(f"bad attempt {attempt!r}: attempts count from 1")
    gates = fields["gates"]
    return {
        **fields,
        "verdict": verdict,
        "metrics": dict(fields["metrics"]),
        "gates": list(gates) if not isinstance(gates, Mapping) else dict(gates),
        "trend": dict(fields["trend"]),
        "reproducibility": dict(fields["reproducibility"]),
        "attempt": attempt,
    }


def _insert_once(session: Session, workload_id: int, quarter: str, values: dict[str, Any]) -> bool:
    """Insert unless a decision exists (waiting for a concurrent insert to settle)."""
    now = utcnow()
    done = session.execute(
        dialect_insert(session)(Decision)
        .values(
            workload_id=workload_id, quarter=quarter, revision=1, created_at=now, updated_at=now,
            **values,
        )
        .on_conflict_do_nothing(index_elements=["workload_id", "quarter"])
        .returning(Decision.id)
    )  # fmt: skip
    return done.first() is not None


def _locked(session: Session, workload_id: int, quarter: str) -> Decision:
    """The stored decision, row-locked until the transaction ends (PostgreSQL; SQLite's
    ``BEGIN IMMEDIATE`` already serialises writers)."""
    return session.scalars(
        select(Decision)
        .where(Decision.workload_id == workload_id, Decision.quarter == quarter)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _replace(session: Session, decision: Decision, values: dict[str, Any], because: str) -> None:
    session.add(
        DecisionRevision(
            decision_id=decision.id,
            revision=decision.revision,
            attempt=decision.attempt,
            verdict=decision.verdict,
            metrics=decision.metrics,
            gates=decision.gates,
            trend=decision.trend,
            reproducibility=decision.reproducibility,
            memo=decision.memo,
            fine_tune_run_id=decision.fine_tune_run_id,
            buy_run_id=decision.buy_run_id,
            decided_at=decision.updated_at,
            superseded_because=because,
        )
    )
    for key, value in values.items():
        setattr(decision, key, value)
    decision.revision += 1
    session.flush()


def write_decision(
    session: Session,
    *,
    workload_id: int,
    quarter: str,
    attempt: int = 1,
    replace: bool = False,
    supersedes: int | None = None,
    because: str = "replaced",
    **fields: Unpack[DecisionFields],
) -> DecisionWrite:
    """Record the quarter's decision unless another one stands; never fails on a race.

    Args:
        attempt: the benchmark attempt the decision was made from (from 1).
        replace: overwrite whatever decision is stored.
        supersedes: overwrite the stored decision only if it is at this revision.
        because: why a stored decision is replaced (kept with the old one).
        fields: what the decision records (:class:`DecisionFields`).

    Returns:
        The stored decision, and whether it is this caller's.

    Raises:
        InvalidValueError: bad quarter, verdict or attempt.
    """
    check_quarter(quarter)
    values = _values(fields, attempt)
    if _insert_once(session, workload_id, quarter, values):
        return DecisionWrite(_locked(session, workload_id, quarter), written=True)
    stored = _locked(session, workload_id, quarter)
    if replace or (supersedes is not None and stored.revision == supersedes):
        _replace(session, stored, values, because)
        return DecisionWrite(stored, written=True)
    return DecisionWrite(stored, written=False)


def save_decision(
    session: Session,
    *,
    workload_id: int,
    quarter: str,
    replace: bool = False,
    attempt: int = 1,
    **fields: Unpack[DecisionFields],
) -> Decision:
    """Record the quarter's decision for a workload, refusing to overwrite one by accident.

    Args:
        replace: overwrite an existing decision for the same (workload, quarter) instead of
            refusing (the old one is kept in ``decision_revisions``).

    Returns:
        The stored decision.

    Raises:
        ConflictError: a decision exists and ``replace`` is false.
        InvalidValueError: bad quarter or verdict.
    """
    result = write_decision(
        session, workload_id=workload_id, quarter=quarter, attempt=attempt, replace=replace,
        **fields,
    )  # fmt: skip
    if not result.written:
        raise ConflictError(
            f"a decision for workload {workload_id} in {quarter} already exists "
            f"({result.decision.verdict}); pass replace=True (CLI: --replace) to overwrite it"
        )
    return result.decision


def decision_revisions(session: Session, decision_id: int) -> list[DecisionRevision]:
    """The earlier versions of a decision, oldest first."""
    return list(
        session.scalars(
            select(DecisionRevision)
            .where(DecisionRevision.decision_id == decision_id)
            .order_by(DecisionRevision.revision)
        )
    )


def decision_history(session: Session, workload_id: int) -> list[Decision]:
    """All decisions of a workload, oldest quarter first."""
    return list(
        session.scalars(
            select(Decision).where(Decision.workload_id == workload_id).order_by(Decision.quarter)
        )
    )
