"""Runs and their per-item results: the benchmark's checkpoint store.

One run per (candidate, eval-set version, quarter); one result per (run, item). A result
whose ``error`` is NULL is final: later writes for that item are ignored, so a resumed run
never replaces (or pays again for) an answer it already has. An errored result is replaced
by the next attempt's. Functions take a ``Session`` and never commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
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
) -> Run:
    """Get or create the run of a candidate on an eval-set version for a quarter.

    A run that exists and is not ``complete`` is marked ``running`` again (a resume); a
    given ``budget_usd`` replaces the stored one. Safe under concurrent callers.
    """
    check_quarter(quarter)
    insert = _insert_fn(session)
    session.execute(
        insert(Run)
        .values(
            candidate_id=candidate_id,
            eval_set_version_id=eval_set_version_id,
            quarter=quarter,
            status=RunStatus.RUNNING,
            budget_usd=float(budget_usd) if budget_usd is not None else None,
            started_at=utcnow(),
            stats={},
        )
        .on_conflict_do_nothing(index_elements=["candidate_id", "eval_set_version_id", "quarter"])
    )
    run = session.scalars(
        select(Run)
        .where(
            Run.candidate_id == candidate_id,
            Run.eval_set_version_id == eval_set_version_id,
            Run.quarter == quarter,
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
    """Close a run with its final status, measured stats and the model version served.

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
        run.stats = dict(stats)
    if model_version is not None:
        run.model_version = model_version
    run.error = error
    session.flush()
    return run


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
    session: Session, *, candidate_ids: Sequence[int], quarter: str | None = None
) -> list[Run]:
    """Runs of the given candidates (optionally one quarter), newest quarter first."""
    query = select(Run).where(Run.candidate_id.in_(list(candidate_ids)))
    if quarter is not None:
        query = query.where(Run.quarter == check_quarter(quarter))
    return list(session.scalars(query.order_by(Run.quarter.desc(), Run.id)))
