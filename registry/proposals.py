"""Proposals: recorded apart from production workloads; promotion links one to the workload
it became, keeping its evidence. Functions take a ``Session`` and never commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.errors import NotFoundError
from registry.models import Proposal, Workload, utcnow


def save_proposal(
    session: Session,
    *,
    name: str,
    case: str,
    spec: dict[str, Any],
    recommendation: str,
    evidence: dict[str, Any],
    memo: str,
) -> Proposal:
    """Record a proposal's latest check (a re-check replaces the previous one; a promoted
    proposal keeps its link)."""
    row = session.scalar(select(Proposal).where(Proposal.name == name))
    if row is None:
        row = Proposal(name=name)
        session.add(row)
    row.case, row.spec, row.recommendation = case, spec, recommendation
    row.evidence, row.memo = evidence, memo
    session.flush()
    return row


def get_proposal(session: Session, name: str) -> Proposal:
    """The proposal called ``name``.

    Raises:
        NotFoundError: none recorded.
    """
    row = session.scalar(select(Proposal).where(Proposal.name == name))
    if row is None:
        raise NotFoundError(f"no proposal named {name!r}: run `relitigate propose check FILE`")
    return row


def list_proposals(session: Session) -> list[Proposal]:
    """Every proposal, by name."""
    return list(session.scalars(select(Proposal).order_by(Proposal.name)))


def mark_promoted(session: Session, proposal: Proposal, workload_name: str) -> Proposal:
    """Link the proposal to the synced workload of the same name.

    Raises:
        NotFoundError: no such workload (sync the workloads file first).
    """
    workload = session.scalar(select(Workload).where(Workload.name == workload_name))
    if workload is None:
        raise NotFoundError(
            f"no workload named {workload_name!r}: add it to the workloads file and sync"
        )
    proposal.workload_id, proposal.promoted_at = workload.id, utcnow()
    session.flush()
    return proposal
