"""Trigger causes: why a workload is re-litigated before its quarterly run, each taken once.

A cause is a row of ``trigger_causes`` keyed by (workload, cause): recording one is an insert
that does nothing when the key exists, so a cause is recorded once however often sync or a
scan sees it. Kinds and keys:

- ``eval_set``: ``eval_set:<name>@<version>``, a sync stored a new version of its eval set;
- ``fine_tune``: ``fine_tune:<name>:<digest>``, a sync replaced its fine-tune's declaration;
- ``catalog``: ``catalog:<entry>``, a catalog entry now challenges it;
- ``deprecation``: ``deprecation:<route>@<date>``, a route it uses (a buy, the fine-tune's
  route or its base model) is deprecated within its ``deprecation_horizon_days``.

``relitigate run --triggered`` claims the open causes (:func:`claim_causes`: one conditional
UPDATE per cause, so two runs never take the same one), re-decides their workloads and marks
them done with the quarter it decided (:func:`finish_causes`); a cause whose run failed is
released and taken by the next triggered run. A done cause is never taken again, so a
trigger never re-decides a quarter twice for the same cause.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from registry.catalog import route_dates
from registry.db import dialect_insert
from registry.models import Candidate, TriggerCause, Workload, utcnow
from vocabulary import Thresholds

CLAIM_LEASE = timedelta(minutes=30)
"""A claim older than this (its run died) may be taken over."""


@dataclass(frozen=True, slots=True)
class CauseRecord:
    """A cause as the front door reports it (and emits it as a Prefect event)."""

    workload: str
    cause: str
    kind: str
    detail: str


def record_cause(
    session: Session, workload: Workload, *, cause: str, kind: str, detail: str
) -> CauseRecord | None:
    """Record ``cause`` for ``workload`` unless it is on record; the record if it is new."""
    done = session.execute(
        dialect_insert(session)(TriggerCause)
        .values(
            workload_id=workload.id,
            cause=cause[:600],
            kind=kind,
            detail=detail,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["workload_id", "cause"])
        .returning(TriggerCause.id)
    )
    if done.first() is None:
        return None
    return CauseRecord(workload=workload.name, cause=cause, kind=kind, detail=detail)


def horizon_days(workload: Workload) -> int:
    """The workload's ``deprecation_horizon_days`` (its override, else the default)."""
    value = (workload.thresholds or {}).get("deprecation_horizon_days")
    return int(value) if value is not None else Thresholds().deprecation_horizon_days


def workload_routes(workload: Workload) -> list[str]:
    """The routes a workload depends on: its active candidates' routes and base models."""
    routes: set[str] = set()
    for candidate in workload.candidates:
        if candidate.archived_at is None:
            routes.add(candidate.route)
            if candidate.base_model:
                routes.add(candidate.base_model)
    return sorted(routes)


def record_deprecation_causes(session: Session, *, today: date) -> list[CauseRecord]:
    """A cause for every route of an active workload whose date is within its horizon."""
    recorded: list[CauseRecord] = []
    workloads = session.scalars(select(Workload).where(Workload.archived_at.is_(None)))
    for workload in workloads:
        limit = today + timedelta(days=horizon_days(workload))
        for route, when in route_dates(session, workload_routes(workload)).items():
            if when.deprecation_date > limit:
                continue
            record = record_cause(
                session,
                workload,
                cause=f"deprecation:{route}@{when.deprecation_date}",
                kind="deprecation",
                detail=f"{route} is deprecated on {when.deprecation_date} ({when.source})",
            )
            if record is not None:
                recorded.append(record)
    return recorded


@dataclass(frozen=True, slots=True)
class ClaimedCause:
    """A cause a triggered run took."""

    id: int
    workload: str
    cause: str
    kind: str


def open_causes(session: Session) -> list[TriggerCause]:
    """Causes not yet done, oldest first (claimed or not)."""
    return list(
        session.scalars(
            select(TriggerCause).where(TriggerCause.done_at.is_(None)).order_by(TriggerCause.id)
        )
    )


def claim_causes(
    session: Session, *, token: str, now: datetime | None = None
) -> list[ClaimedCause]:
    """Claim every open cause of an active workload that no live run holds."""
    now = now or utcnow()
    stale = now - CLAIM_LEASE
    rows = session.execute(
        select(
            TriggerCause.id,
            TriggerCause.claimed_at,
            TriggerCause.cause,
            TriggerCause.kind,
            Workload.name,
        )
        .join(Workload, Workload.id == TriggerCause.workload_id)
        .where(TriggerCause.done_at.is_(None), Workload.archived_at.is_(None))
        .where(or_(TriggerCause.claimed_at.is_(None), TriggerCause.claimed_at < stale))
        .order_by(TriggerCause.id)
    ).all()
    claimed = []
    for cause_id, seen, cause, kind, workload in rows:
        held = (
            TriggerCause.claimed_at.is_(None) if seen is None else TriggerCause.claimed_at == seen
        )
        taken = session.execute(
            update(TriggerCause)
            .where(and_(TriggerCause.id == cause_id, TriggerCause.done_at.is_(None), held))
            .values(claimed_at=now, claim_token=token)
        )
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(ClaimedCause(cause_id, workload, cause, kind))
    return claimed


def finish_causes(session: Session, *, token: str, quarter: str, decided: Iterable[str]) -> None:
    """Mark the token's causes of the ``decided`` workloads done; release the others."""
    names = set(decided)
    ids = {w.id for w in session.scalars(select(Workload).where(Workload.name.in_(names)))}
    now = utcnow()
    for row in session.scalars(
        select(TriggerCause).where(
            TriggerCause.claim_token == token, TriggerCause.done_at.is_(None)
        )
    ):
        if row.workload_id in ids:
            row.done_at, row.quarter = now, quarter
        else:
            row.claimed_at, row.claim_token = None, None


def settle_cause(session: Session, *, cause: str, quarter: str, workloads: Iterable[str]) -> None:
    """Mark ``cause`` done for ``workloads`` (a run asked for by hand decided them)."""
    ids = select(Workload.id).where(Workload.name.in_(set(workloads)))
    session.execute(
        update(TriggerCause)
        .where(TriggerCause.cause == cause, TriggerCause.done_at.is_(None))
        .where(TriggerCause.workload_id.in_(ids))
        .values(done_at=utcnow(), quarter=quarter)
    )


def settle_decided(
    session: Session, *, workloads: Iterable[str], quarter: str, before: datetime
) -> None:
    """Mark done the open, unclaimed causes of ``workloads`` recorded before ``before``: a
    run that started after them decided those workloads already."""
    ids = select(Workload.id).where(Workload.name.in_(set(workloads)))
    session.execute(
        update(TriggerCause)
        .where(TriggerCause.done_at.is_(None), TriggerCause.claimed_at.is_(None))
        .where(TriggerCause.created_at < before, TriggerCause.workload_id.in_(ids))
        .values(done_at=utcnow(), quarter=quarter)
    )


def mark_emitted(session: Session, causes: Iterable[CauseRecord]) -> None:
    """Mark causes handed to Prefect as events done: the deployment trigger runs them."""
    now = utcnow()
    for cause in causes:
        row = session.scalars(
            select(TriggerCause)
            .join(Workload, Workload.id == TriggerCause.workload_id)
            .where(Workload.name == cause.workload, TriggerCause.cause == cause.cause)
        ).first()
        if row is not None and row.done_at is None:
            row.done_at, row.claim_token = now, "prefect-event"


FINE_TUNE_IDENTITY = ("runner", "route", "api_base", "serving", "prompt", "params", "base_model")
"""What makes a fine-tune another model (its prices, limits and key name do not)."""


def fine_tune_identity(values: Mapping[str, object]) -> dict[str, object]:
    """The identity part of a fine-tune's stored values."""
    return {key: values.get(key) for key in FINE_TUNE_IDENTITY}


def fine_tune_replaced(before: Candidate | None, values: Mapping[str, object]) -> bool:
    """Whether a sync replaces the fine-tune: a new name, or another identity."""
    if before is None:
        return True
    return any(getattr(before, key) != values.get(key) for key in FINE_TUNE_IDENTITY)
