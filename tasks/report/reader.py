"""The thin reader: registry rows in, plain records out. Takes a ``Session``, never commits.

Each function issues a few set-based queries (no query per workload), so a report over
thousands of workloads reads in one round trip per table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from registry.models import (
    Candidate,
    CandidateRole,
    Decision,
    Notice,
    NoticeAction,
    NoticeActionKind,
    Verdict,
    Workload,
)
from registry.quarters import check_quarter
from tasks.report.records import DecisionRecord, Endpoint, RoutingRecord


def report_records(session: Session, quarter: str | None = None) -> list[DecisionRecord]:
    """Each active workload with its decision in ``quarter`` (default: its latest one).

    A workload without such a decision gives a record with no quarter and no verdict.

    Raises:
        InvalidValueError: ``quarter`` is not ``YYYYQn``.
    """
    if quarter is not None:
        check_quarter(quarter)
        wanted = (
            select(Decision.workload_id, Decision.quarter)
            .where(Decision.quarter == quarter)
            .subquery()
        )
    else:
        wanted = (
            select(Decision.workload_id, func.max(Decision.quarter).label("quarter"))
            .group_by(Decision.workload_id)
            .subquery()
        )
    query = (
        select(*_WORKLOAD_COLUMNS, *_DECISION_COLUMNS)
        .outerjoin(wanted, wanted.c.workload_id == Workload.id)
        .outerjoin(
            Decision,
            and_(Decision.workload_id == Workload.id, Decision.quarter == wanted.c.quarter),
        )
        .where(Workload.archived_at.is_(None))
        .order_by(Workload.name)
    )
    rows = list(session.execute(query))
    notices = _notices(session, [r.decision_id for r in rows if r.decision_id is not None])
    return [_record_of_row(r, notices.get(r.decision_id)) for r in rows]


_WORKLOAD_COLUMNS = (
    Workload.name,
    Workload.case,
    Workload.owner_email,
    Workload.volume_per_day,
    Workload.adopted_quarter,
)
_DECISION_COLUMNS = (
    Decision.id.label("decision_id"),
    Decision.quarter,
    Decision.verdict,
    Decision.metrics,
    Decision.gates,
    Decision.trend,
    Decision.reproducibility,
)


def _record_of_row(row: Any, notice: tuple[str, str] | None) -> DecisionRecord:
    """A record from one row of ``_WORKLOAD_COLUMNS + _DECISION_COLUMNS`` (no ORM objects)."""
    base: dict[str, Any] = {
        "workload": row.name,
        "case": str(row.case),
        "owner_email": row.owner_email,
        "volume_per_day": None if row.volume_per_day is None else float(row.volume_per_day),
        "adopted_quarter": row.adopted_quarter,
    }
    if row.decision_id is None:
        return DecisionRecord(**base)
    return DecisionRecord(
        **base,
        quarter=row.quarter,
        verdict=str(row.verdict),
        metrics=row.metrics or {},
        gates=row.gates if isinstance(row.gates, list) else [],
        trend=row.trend or {},
        reproducibility=row.reproducibility or {},
        notice_kind=notice[0] if notice else None,
        notice_status=notice[1] if notice else None,
    )


def history_records(session: Session, workload: str) -> list[DecisionRecord]:
    """Every decision of ``workload`` (archived ones included), oldest quarter first.

    Raises:
        NotFoundError: no workload of that name.
    """
    from registry.queries import get_workload  # here: ``report`` does not need it

    found = get_workload(session, workload, include_archived=True)
    query = (
        select(*_WORKLOAD_COLUMNS, *_DECISION_COLUMNS)
        .join(Decision, Decision.workload_id == Workload.id)
        .where(Workload.id == found.id)
        .order_by(Decision.quarter)
    )
    rows = list(session.execute(query))
    notices = _notices(session, [r.decision_id for r in rows])
    return [_record_of_row(r, notices.get(r.decision_id)) for r in rows]


def routing_records(session: Session) -> list[RoutingRecord]:
    """Each active workload's fine-tune, latest decision and newest conclusive decision."""
    workloads = list(
        session.scalars(
            select(Workload).where(Workload.archived_at.is_(None)).order_by(Workload.name)
        )
    )
    ids = [w.id for w in workloads]
    candidates: dict[int, list[Candidate]] = {}
    for candidate in session.scalars(
        select(Candidate)
        .where(Candidate.workload_id.in_(ids), Candidate.archived_at.is_(None))
        .order_by(Candidate.id)
    ):
        candidates.setdefault(candidate.workload_id, []).append(candidate)
    latest_q = (
        select(Decision.workload_id, func.max(Decision.quarter).label("quarter"))
        .group_by(Decision.workload_id)
        .subquery()
    )
    conclusive_q = (
        select(Decision.workload_id, func.max(Decision.quarter).label("quarter"))
        .where(Decision.verdict != Verdict.INCONCLUSIVE)
        .group_by(Decision.workload_id)
        .subquery()
    )
    latest = _decisions_at(session, latest_q)
    conclusive = _decisions_at(session, conclusive_q)
    done = _marked_done(session, [d.id for d in latest.values()])
    out = []
    for workload in workloads:
        own = candidates.get(workload.id, [])
        fine_tune = next((c for c in own if c.role == CandidateRole.FINE_TUNE), None)
        last = latest.get(workload.id)
        settled = conclusive.get(workload.id)
        out.append(
            RoutingRecord(
                workload=workload.name,
                fine_tune=None if fine_tune is None else _endpoint(fine_tune),
                latest_quarter=last.quarter if last else None,
                latest_verdict=last.verdict.value if last else None,
                latest_reasons=tuple((last.metrics or {}).get("reasons") or ()) if last else (),
                latest_deprecation=_deprecation(last.reproducibility) if last else None,
                latest_buy=_buy_endpoint(last, own) if last else None,
                conclusive_quarter=settled.quarter if settled else None,
                conclusive_verdict=settled.verdict.value if settled else None,
                conclusive_buy=_buy_endpoint(settled, own) if settled else None,
                marked_done=done.get(last.id) if last else None,
            )
        )
    return out


DEPRECATION_KEY = "deprecation"
"""``tasks.decision.deprecations.DEPRECATION_KEY`` (a test checks; importing it here would load
the decision core for a routing table)."""


def _deprecation(reproducibility: Mapping[str, Any] | None) -> str | None:
    line = (reproducibility or {}).get(DEPRECATION_KEY)
    return line if isinstance(line, str) else None


def _marked_done(session: Session, decision_ids: list[int]) -> dict[int, tuple[str, str]]:
    """The first "Mark as done" on each of these decisions: (Slack user, UTC date)."""
    rows = session.execute(
        select(NoticeAction.decision_id, NoticeAction.slack_user, NoticeAction.acted_at)
        .where(
            NoticeAction.decision_id.in_(decision_ids),
            NoticeAction.action == NoticeActionKind.DONE,
        )
        .order_by(NoticeAction.acted_at.desc())
    )
    return {int(d): (user, at.date().isoformat()) for d, user, at in rows if d is not None}


def _decisions_at(session: Session, at: Any) -> dict[int, Decision]:
    query = select(Decision).join(
        at, and_(at.c.workload_id == Decision.workload_id, at.c.quarter == Decision.quarter)
    )
    return {d.workload_id: d for d in session.scalars(query)}


def _endpoint(candidate: Candidate) -> Endpoint:
    return Endpoint(
        name=candidate.name,
        route=candidate.route,
        api_base=candidate.api_base,
        api_key_env=candidate.api_key_env,
        runner=candidate.runner.value,
        params=dict(candidate.params or {}),
        prompt=dict(candidate.prompt or {}),
        production_api_base=candidate.production_api_base,
    )


def _buy_endpoint(decision: Decision, candidates: Iterable[Candidate]) -> Endpoint | None:
    """The buy alternative a decision judged against, at the route it was benchmarked on."""
    buy = (decision.metrics or {}).get("buy")
    if not isinstance(buy, Mapping) or not buy.get("name"):
        return None
    match = next(
        (c for c in candidates if c.role == CandidateRole.BUY and c.name == buy["name"]), None
    )
    route = str(buy.get("route") or (match.route if match else ""))
    if not route:
        return None
    if match is not None and match.route == route:
        return _endpoint(match)
    return Endpoint(
        name=str(buy["name"]),
        route=route,
        api_base=match.api_base if match else None,
        api_key_env=match.api_key_env if match else None,
        runner=match.runner.value if match else "api",
    )


def _notices(session: Session, decision_ids: list[int]) -> dict[int, tuple[str, str]]:
    """``decision id -> (kind, status)`` of the notice each decision enqueued."""
    found: dict[int, tuple[str, str]] = {}
    chunk = 500
    for start in range(0, len(decision_ids), chunk):
        ids = decision_ids[start : start + chunk]
        rows = session.execute(
            select(Notice.decision_id, Notice.kind, Notice.status)
            .where(Notice.decision_id.in_(ids))
            .order_by(Notice.id)
        )
        for decision_id, kind, status in rows:
            if decision_id is not None:
                found.setdefault(decision_id, (str(kind), str(status)))
    return found
