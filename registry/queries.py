"""Read-side repository: workloads with their candidates and current eval-set version.

All functions take a ``Session`` and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from registry.errors import NotFoundError
from registry.evalsets import version_items
from registry.models import (
    Candidate,
    CandidateRole,
    EvalItem,
    EvalSet,
    EvalSetVersion,
    Workload,
)


@dataclass(frozen=True, slots=True)
class WorkloadBundle:
    """A workload with everything a benchmark needs, as ORM rows."""

    workload: Workload
    fine_tune: Candidate
    buy: tuple[Candidate, ...]
    """Active buy alternatives, in declaration order."""
    eval_set: EvalSet
    version: EvalSetVersion
    """The eval-set version the last sync pinned."""
    items: tuple[EvalItem, ...]
    """The version's items in file order (empty when loaded with ``with_items=False``)."""

    @property
    def candidates(self) -> tuple[Candidate, ...]:
        """The fine-tune first, then the buy alternatives."""
        return (self.fine_tune, *self.buy)


def get_workload(session: Session, name: str, *, include_archived: bool = False) -> Workload:
    """The workload called ``name``.

    Raises:
        NotFoundError: none, or only an archived one when ``include_archived`` is false.
    """
    workload = session.scalar(
        select(Workload).where(Workload.name == name).options(selectinload(Workload.candidates))
    )
    if workload is None:
        raise NotFoundError(f"no workload named {name!r}: see `relitigate workloads`")
    if workload.archived_at is not None and not include_archived:
        raise NotFoundError(
            f"workload {name!r} is archived (removed from the workloads file on "
            f"{workload.archived_at:%Y-%m-%d}): declare it again and sync to restore it"
        )
    return workload


def list_workloads(session: Session, *, include_archived: bool = False) -> list[Workload]:
    """Workloads ordered by name; active only unless ``include_archived``."""
    query = select(Workload).options(selectinload(Workload.candidates)).order_by(Workload.name)
    if not include_archived:
        query = query.where(Workload.archived_at.is_(None))
    return list(session.scalars(query))


def active_candidates(workload: Workload) -> list[Candidate]:
    """The workload's candidates that are not archived, in declaration order."""
    return [c for c in workload.candidates if c.archived_at is None]


def load_workload(
    session: Session, name: str, *, with_items: bool = True, include_archived: bool = False
) -> WorkloadBundle:
    """A workload by name with its candidates and current eval-set version (and items).

    Raises:
        NotFoundError: no such workload, or it has no fine-tune or eval set yet.
    """
    workload = get_workload(session, name, include_archived=include_archived)
    candidates = active_candidates(workload)
    fine_tunes = [c for c in candidates if c.role == CandidateRole.FINE_TUNE]
    if not fine_tunes:
        raise NotFoundError(f"workload {name!r} has no active fine-tune candidate")
    if workload.eval_set_version_id is None or workload.eval_set_id is None:
        raise NotFoundError(f"workload {name!r} has no eval set: sync its workloads file")
    version = session.get(EvalSetVersion, workload.eval_set_version_id)
    eval_set = session.get(EvalSet, workload.eval_set_id)
    if version is None or eval_set is None:  # pragma: no cover - foreign keys forbid it
        raise NotFoundError(f"workload {name!r} points at a missing eval set")
    items = tuple(version_items(session, version.id)) if with_items else ()
    return WorkloadBundle(
        workload=workload,
        fine_tune=fine_tunes[0],
        buy=tuple(c for c in candidates if c.role == CandidateRole.BUY),
        eval_set=eval_set,
        version=version,
        items=items,
    )


def candidate_summary(candidate: Candidate) -> dict[str, Any]:
    """A candidate as plain JSON-ready data (no secrets are stored, so none appear)."""
    return {
        "name": candidate.name,
        "role": str(candidate.role),
        "runner": str(candidate.runner),
        "route": candidate.route,
        "api_base": candidate.api_base,
        "api_key_env": candidate.api_key_env,
        "prompt": candidate.prompt,
        "params": candidate.params,
        "pricing": candidate.pricing,
        "serving": candidate.serving,
        "limits": candidate.limits,
        "archived_at": candidate.archived_at.isoformat() if candidate.archived_at else None,
    }


def workload_summary(
    session: Session, workload: Workload, *, detail: bool = False
) -> dict[str, Any]:
    """A workload as plain JSON-ready data, for the CLI and reports."""
    version = (
        session.get(EvalSetVersion, workload.eval_set_version_id)
        if workload.eval_set_version_id is not None
        else None
    )
    eval_set = session.get(EvalSet, workload.eval_set_id) if workload.eval_set_id else None
    candidates = active_candidates(workload)
    summary: dict[str, Any] = {
        "name": workload.name,
        "case": str(workload.case),
        "owner": {
            "email": workload.owner_email,
            "slack_user": workload.owner_slack_user,
            "slack_channel": workload.slack_channel,
        },
        "volume_per_day": workload.volume_per_day,
        "adopted_quarter": workload.adopted_quarter,
        "fine_tune": next((c.name for c in candidates if c.role == CandidateRole.FINE_TUNE), None),
        "buy": [c.name for c in candidates if c.role == CandidateRole.BUY],
        "eval_set": {
            "name": eval_set.name if eval_set else None,
            "version": version.version if version else None,
            "content_hash": version.content_hash if version else None,
            "items": version.item_count if version else None,
        },
        "archived_at": workload.archived_at.isoformat() if workload.archived_at else None,
    }
    if detail:
        summary |= {
            "description": workload.description,
            "fixed_costs_monthly_usd": workload.fixed_costs_monthly_usd,
            "training_examples": workload.training_examples,
            "task_stable": workload.task_stable,
            "domain_stable": workload.domain_stable,
            "thresholds": workload.thresholds,
            "scorer": workload.scorer,
            "config_hash": workload.config_hash,
            "candidates": [candidate_summary(c) for c in workload.candidates],
            "created_at": workload.created_at.isoformat(),
            "updated_at": workload.updated_at.isoformat(),
        }
    return summary
