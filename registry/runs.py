"""Runs and their per-item results: the benchmark's checkpoint store.

One run per (candidate, eval-set version, quarter, attempt); one result per (run, item). A
result whose ``error`` is NULL is final: later writes for that item are ignored, so a resumed
run never replaces (or pays again for) an answer it already has. An errored result is replaced
by the next try's, whose ``attempts`` include the earlier tries' (the caller adds them, see
:func:`items_to_call`), so an item's attempts count across processes and re-runs.

Which errored items are called again is :func:`items_to_call`'s rule: while their attempts are
below the candidate's ``max_attempts`` x (1 + the run's ``retry_passes``). A plain resume never
raises that bound; a retry pass does (:func:`grant_retry_pass`). Functions take a ``Session``
and never commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from registry.errors import InvalidValueError, NotFoundError
from registry.models import (
    ErrorKind,
    EvalItem,
    ItemResult,
    Run,
    RunStatus,
    utcnow,
)
from registry.quarters import check_quarter

WRITE_BATCH = 500
"""Rows per upsert statement (well under SQLite's bound-parameter limit)."""


@dataclass(frozen=True, slots=True)
class ItemResultRow:
    """One item's outcome, as the benchmark task hands it to :func:`write_item_results`."""

    item_key: str
    """The eval item's ``id`` in the eval set."""
    output: str | None = None
    passed: bool | None = None
    score: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | Decimal = 0.0
    judge_cost_usd: float | Decimal = 0.0
    latency_ms: float | None = None
    attempts: int = 1
    error: str | None = None
    """None when the item produced an output (then the row is final)."""
    error_kind: ErrorKind | str | None = None
    judge: Mapping[str, Any] | None = None
    """Judge route, model version, explanation... for LLM-judge scores."""


@dataclass(frozen=True, slots=True)
class RunItemResult:
    """One eval item of a run's eval-set version, with its stored result if any."""

    item_id: int
    item_key: str
    position: int
    input: Any
    target: Any
    metadata: dict[str, Any]
    has_result: bool
    """False when no result was stored for the item (never silently dropped)."""
    output: str | None
    passed: bool | None
    score: float | None
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    judge_cost_usd: float
    latency_ms: float | None
    attempts: int
    error: str | None
    error_kind: ErrorKind | None
    judge: dict[str, Any] | None


def get_run(session: Session, run_id: int) -> Run:
    """The run with id ``run_id``.

    Raises:
        NotFoundError: there is none.
    """
    run = session.get(Run, run_id)
    if run is None:
        raise NotFoundError(f"no run with id {run_id}")
    return run


def _insert_fn(session: Session) -> Any:
    from sqlalchemy.dialects import postgresql, sqlite

    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert
    return sqlite.insert


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
    insert = _insert_fn(session)
    session.execute(
        insert(Run)
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


def finished_item_keys(session: Session, run_id: int) -> set[str]:
    """Keys of the items that have a final (error-free) result in the run."""
    return set(
        session.scalars(
            select(EvalItem.item_key)
            .join(ItemResult, ItemResult.item_id == EvalItem.id)
            .where(ItemResult.run_id == run_id, ItemResult.error.is_(None))
        )
    )


def _row_values(row: ItemResultRow | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(row, Mapping):
        unknown = set(row) - set(_FIELDS)
        if unknown:
            raise InvalidValueError(f"unknown item result field(s) {sorted(unknown)}")
        if "item_key" not in row:
            raise InvalidValueError("an item result needs item_key")
        row = ItemResultRow(**row)
    values = {f: getattr(row, f) for f in _FIELDS}
    if not values.get("item_key"):
        raise InvalidValueError("an item result needs item_key")
    for money in ("cost_usd", "judge_cost_usd"):
        values[money] = float(values.get(money) or 0.0)
    kind = values.get("error_kind")
    if kind is not None:
        try:
            values["error_kind"] = ErrorKind(kind)
        except ValueError as exc:
            raise InvalidValueError(
                f"bad error_kind {kind!r}: one of {[k.value for k in ErrorKind]}"
            ) from exc
    judge = values.get("judge")
    values["judge"] = dict(judge) if judge is not None else None
    return values


_FIELDS = tuple(ItemResultRow.__dataclass_fields__)


def write_item_results(
    session: Session, run_id: int, rows: Iterable[ItemResultRow | Mapping[str, Any]]
) -> int:
    """Upsert item results into a run, in batches.

    A new row is inserted; a row for an item that already has an *errored* result replaces
    it; a row for an item that already has a successful result is ignored. Within one call,
    a successful row for an item wins over an errored one.

    Args:
        session: the caller's session (never committed here).
        run_id: the run.
        rows: :class:`ItemResultRow` objects or mappings with the same keys.

    Returns:
        The number of rows submitted after de-duplication.

    Raises:
        NotFoundError: the run, or an item key in its eval-set version, does not exist.
        InvalidValueError: a row is malformed.
    """
    run = get_run(session, run_id)
    by_key: dict[str, dict[str, Any]] = {}
    for row in rows:
        values = _row_values(row)
        earlier = by_key.get(values["item_key"])
        if earlier is not None and earlier["error"] is None and values["error"] is not None:
            continue
        by_key[values["item_key"]] = values
    if not by_key:
        return 0
    ids = dict(
        session.execute(
            select(EvalItem.item_key, EvalItem.id).where(
                EvalItem.version_id == run.eval_set_version_id,
                EvalItem.item_key.in_(list(by_key)),
            )
        ).all()
    )
    missing = [key for key in by_key if key not in ids]
    if missing:
        raise NotFoundError(
            f"item key {missing[0]!r} is not in the run's eval-set version "
            f"({len(missing)} unknown key(s))"
        )
    now = utcnow()
    records = []
    for key, values in by_key.items():
        record = {k: v for k, v in values.items() if k != "item_key"}
        record |= {"run_id": run_id, "item_id": ids[key], "created_at": now}
        records.append(record)
    insert = _insert_fn(session)
    table = ItemResult.__table__
    stmt = insert(table)
    # One statement, executed with many parameter sets: SQLAlchemy compiles it once and
    # caches it, instead of compiling a new multi-row VALUES for every flush.
    stmt = stmt.on_conflict_do_update(
        index_elements=["run_id", "item_id"],
        set_={
            name: stmt.excluded[name] for name in records[0] if name not in ("run_id", "item_id")
        },
        where=table.c.error.is_not(None),
    )
    for start in range(0, len(records), WRITE_BATCH):
        session.execute(stmt, records[start : start + WRITE_BATCH])
    return len(records)


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


def load_run_results(session: Session, run_id: int) -> list[RunItemResult]:
    """Every item of the run's eval-set version with its result, ordered by position.

    Items without a stored result appear with ``has_result=False``.
    """
    run = get_run(session, run_id)
    query = (
        select(EvalItem, ItemResult)
        .outerjoin(ItemResult, (ItemResult.item_id == EvalItem.id) & (ItemResult.run_id == run_id))
        .where(EvalItem.version_id == run.eval_set_version_id)
        .order_by(EvalItem.position)
    )
    results: list[RunItemResult] = []
    for item, result in session.execute(query).all():
        results.append(
            RunItemResult(
                item_id=item.id,
                item_key=item.item_key,
                position=item.position,
                input=item.input,
                target=item.target,
                metadata=item.item_metadata,
                has_result=result is not None,
                output=result.output if result else None,
                passed=result.passed if result else None,
                score=result.score if result else None,
                prompt_tokens=result.prompt_tokens if result else 0,
                completion_tokens=result.completion_tokens if result else 0,
                cost_usd=result.cost_usd if result else 0.0,
                judge_cost_usd=result.judge_cost_usd if result else 0.0,
                latency_ms=result.latency_ms if result else None,
                attempts=result.attempts if result else 0,
                error=result.error if result else None,
                error_kind=result.error_kind if result else None,
                judge=result.judge if result else None,
            )
        )
    return results


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
