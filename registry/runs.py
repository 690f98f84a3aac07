"""Runs: the benchmark's checkpoint store, one run per (candidate, eval-set version,
quarter, attempt), and which of its items to call again.

A run's per-item results are :mod:`registry.item_results` (re-exported here). An errored
result is replaced by the next try's, whose ``attempts`` include the earlier tries' (the
caller adds them, see :func:`items_to_call`), so an item's attempts count across processes and
re-runs.

Which errored items are called again is :func:`items_to_call`'s rule: while their attempts are
below the candidate's ``max_attempts`` x (1 + the run's ``retry_passes``). A plain resume never
raises that bound; a retry pass does (:func:`grant_retry_pass`). Functions take a ``Session``
and never commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from registry.db import dialect_insert
from registry.errors import InvalidValueError, NotFoundError
from registry.item_results import (
    WRITE_BATCH,
    ItemResultRow,
    RunItemResult,
    finished_item_keys,
    load_run_results,
    write_item_results,
)
from registry.models import ErrorKind, EvalItem, ItemResult, Run, RunStatus, utcnow
from registry.quarters import check_quarter

__all__ = [
    "NOT_RETRIED_KINDS",
    "WRITE_BATCH",
    "ItemResultRow",
    "ItemsToCall",
    "RunItemResult",
    "finish_run",
    "finished_item_keys",
    "get_run",
    "grant_retry_pass",
    "items_to_call",
    "latest_attempt",
    "load_run_results",
    "open_run",
    "runs_for",
    "with_pass",
    "write_item_results",
]


def get_run(session: Session, run_id: int) -> Run:
    """The run with id ``run_id``.

    Raises:
        NotFoundError: there is none.
    """
    run = session.get(Run, run_id)
    if run is None:
        raise NotFoundError(f"no run with id {run_id}")
    return run


def open_run(
    session: Session,
    *,
    candidate_id: int,
    eval_set_version_id: int,
    quarter: str,
    budget_usd: float | Decimal | None = None,
    attempt: int = 1,
) -> Run:
    """Get or create the run of a candidate on an eval-set version for a quarter and attempt.

    A run that exists and is not ``complete`` is marked ``running`` again (a resume); a
    given ``budget_usd`` replaces the stored one. Safe under concurrent callers.
    """
    check_quarter(quarter)
    if attempt < 1:
        raise InvalidValueError(f"bad attempt {attempt!r}: attempts count from 1")
    session.execute(
        dialect_insert(session)(Run)
        .values(
            candidate_id=candidate_id,
            eval_set_version_id=eval_set_version_id,
            quarter=quarter,
            attempt=attempt,
            retry_passes=0,
            status=RunStatus.RUNNING,
            budget_usd=float(budget_usd) if budget_usd is not None else None,
            started_at=utcnow(),
            stats={},
        )
        .on_conflict_do_nothing(
            index_elements=["candidate_id", "eval_set_version_id", "quarter", "attempt"]
        )
    )
    run = session.scalars(
        select(Run)
        .where(
            Run.candidate_id == candidate_id,
            Run.eval_set_version_id == eval_set_version_id,
            Run.quarter == quarter,
            Run.attempt == attempt,
        )
        .execution_options(populate_existing=True)
    ).one()
    if run.status != RunStatus.COMPLETE:
        if run.status != RunStatus.RUNNING:
            run.status = RunStatus.RUNNING
            run.finished_at = None
            run.error = None
        if budget_usd is not None and run.budget_usd != float(budget_usd):
            run.budget_usd = float(budget_usd)
        session.flush()
    return run


def latest_attempt(
    session: Session, *, candidate_ids: Sequence[int], eval_set_version_id: int, quarter: str
) -> int:
    """The newest attempt among the candidates' runs on the version for the quarter; 0: none."""
    found = session.scalar(
        select(func.max(Run.attempt)).where(
            Run.candidate_id.in_(list(candidate_ids)),
            Run.eval_set_version_id == eval_set_version_id,
            Run.quarter == check_quarter(quarter),
        )
    )
    return int(found or 0)


NOT_RETRIED_KINDS = frozenset({ErrorKind.PERMANENT, ErrorKind.BUDGET})
"""Errors a retry pass leaves alone: retrying cannot help (permanent) or was not allowed."""


@dataclass(frozen=True, slots=True)
class ItemsToCall:
    """What a (re)started benchmark pass calls, and what it leaves alone."""

    skip_keys: frozenset[str]
    """Items not to call: answered, or errored with their attempts used up."""
    prior_attempts: dict[str, int]
    """Errored items to call again, with the attempts they already had."""
    exhausted: int
    """Errored items whose attempts are used up (a retry pass may grant more)."""
    retryable: int
    """Of those, the ones a retry pass would call (transient errors)."""


def items_to_call(session: Session, run_id: int, *, max_attempts: int) -> ItemsToCall:
    """Split the run's items into those to call now and those to skip.

    An item is called when it has no result, or an errored one whose ``attempts`` are below
    ``max_attempts`` x (1 + the run's ``retry_passes``); errors of the kinds in
    :data:`NOT_RETRIED_KINDS` only get the first ``max_attempts``. The caller adds
    ``prior_attempts`` to the attempts of each new result, so the count carries on.
    """
    run = get_run(session, run_id)
    cap = max(1, max_attempts) * (1 + run.retry_passes)
    rows = session.execute(
        select(EvalItem.item_key, ItemResult.error, ItemResult.error_kind, ItemResult.attempts)
        .join(ItemResult, ItemResult.item_id == EvalItem.id)
        .where(ItemResult.run_id == run_id)
    ).all()
    skip: set[str] = set()
    prior: dict[str, int] = {}
    exhausted = retryable = 0
    for key, error, kind, attempts in rows:
        if error is None:
            skip.add(key)
            continue
        limit = max(1, max_attempts) if kind in NOT_RETRIED_KINDS else cap
        if attempts < limit:
            prior[key] = attempts
        else:
            skip.add(key)
            exhausted += 1
            retryable += kind not in NOT_RETRIED_KINDS
    return ItemsToCall(frozenset(skip), prior, exhausted, retryable)


def grant_retry_pass(session: Session, run_id: int, level: int) -> bool:
    """Raise the run's ``retry_passes`` to ``level``; False if it was there already.

    Conditional, so of two processes granting the same level only one does (and a process
    that was killed mid-pass leaves the grant in place for the resume to finish).
    """
    done = session.execute(
        update(Run)
        .where(Run.id == run_id, Run.retry_passes < level)
        .values(retry_passes=level)
        .execution_options(synchronize_session=False)
    )
    return getattr(done, "rowcount", 0) == 1


def finish_run(
    session: Session,
    run_id: int,
    status: RunStatus | str,
    stats: Mapping[str, Any] | None = None,
    model_version: str | None = None,
    *,
    error: str | None = None,
) -> Run:
    """Close a run with its final status, one pass's measured stats and the model version.

    ``stats`` are one pass's: they are appended to ``stats["passes"]``, and the pass that
    called the most items stays on top (see :func:`with_pass`); earlier passes are kept.

    Raises:
        NotFoundError: no such run.
        InvalidValueError: ``status`` is ``running`` or not a run status.
    """
    try:
        final = RunStatus(status)
    except ValueError as exc:
        raise InvalidValueError(
            f"bad run status {status!r}: one of {[s.value for s in RunStatus]}"
        ) from exc
    if final == RunStatus.RUNNING:
        raise InvalidValueError("finish_run needs a final status, not 'running'")
    run = get_run(session, run_id)
    run.status = final
    run.finished_at = utcnow()
    if stats is not None:
        run.stats = with_pass(run.stats or {}, stats)
    if model_version is not None:
        run.model_version = model_version
    run.error = error
    session.flush()
    return run


def with_pass(stats: Mapping[str, Any], new_pass: Mapping[str, Any]) -> dict[str, Any]:
    """A run's stats after one more pass: every pass in ``"passes"``, oldest first, and on
    top the keys of the pass that called the most items (the earliest among equals), whose
    throughput and latencies describe the run."""
    passes = [dict(p) for p in stats.get("passes", [])]
    if not passes and stats:  # stored before passes were kept: the old stats are one pass
        passes.append({k: v for k, v in stats.items() if k != "passes"})
    passes.append(dict(new_pass))
    top = max(passes, key=lambda p: int(p.get("items_done") or 0))
    return {**top, "passes": passes}


def runs_for(
    session: Session,
    *,
    candidate_ids: Sequence[int],
    quarter: str | None = None,
    attempt: int | None = None,
) -> list[Run]:
    """Runs of the given candidates (optionally one quarter, one attempt), newest quarter
    first, then by attempt."""
    query = select(Run).where(Run.candidate_id.in_(list(candidate_ids)))
    if quarter is not None:
        query = query.where(Run.quarter == check_quarter(quarter))
    if attempt is not None:
        query = query.where(Run.attempt == attempt)
    return list(session.scalars(query.order_by(Run.quarter.desc(), Run.attempt, Run.id)))
