"""Per-item results of a run: written as they arrive, read back with their eval items.

One result per (run, item). A result whose ``error`` is NULL is final: later writes for that
item are ignored, so a resumed run never replaces (or pays again for) an answer it already
has; an errored result is replaced by the next try's (:func:`write_item_results`). Functions
take a ``Session`` and never commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.db import dialect_insert
from registry.errors import InvalidValueError, NotFoundError
from registry.models import ErrorKind, EvalItem, ItemResult, Run, utcnow

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
    version_id = _version_of(session, run_id)
    by_key = _final_rows(rows)
    if not by_key:
        return 0
    ids = _item_ids(session, version_id, list(by_key))
    now = utcnow()
    records = [
        {k: v for k, v in values.items() if k != "item_key"}
        | {"run_id": run_id, "item_id": ids[key], "created_at": now}
        for key, values in by_key.items()
    ]
    table = ItemResult.__table__
    stmt = dialect_insert(session)(table)
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


def _version_of(session: Session, run_id: int) -> int:
    """The run's eval-set version."""
    version: int | None = session.scalar(select(Run.eval_set_version_id).where(Run.id == run_id))
    if version is None:
        raise NotFoundError(f"no run with id {run_id}")
    return version


def _final_rows(rows: Iterable[ItemResultRow | Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """One row per item key: the last one, unless an earlier one had an answer."""
    by_key: dict[str, dict[str, Any]] = {}
    for row in rows:
        values = _row_values(row)
        earlier = by_key.get(values["item_key"])
        if earlier is not None and earlier["error"] is None and values["error"] is not None:
            continue
        by_key[values["item_key"]] = values
    return by_key


def _item_ids(session: Session, version_id: int, keys: list[str]) -> dict[str, int]:
    """The ids of the version's items with ``keys``; an unknown key is NotFoundError."""
    ids: dict[str, int] = dict(
        session.execute(
            select(EvalItem.item_key, EvalItem.id).where(
                EvalItem.version_id == version_id, EvalItem.item_key.in_(keys)
            )
        ).all()
    )
    missing = [key for key in keys if key not in ids]
    if missing:
        raise NotFoundError(
            f"item key {missing[0]!r} is not in the run's eval-set version "
            f"({len(missing)} unknown key(s))"
        )
    return ids


def load_run_results(session: Session, run_id: int) -> list[RunItemResult]:
    """Every item of the run's eval-set version with its result, ordered by position.

    Items without a stored result appear with ``has_result=False``.
    """
    query = (
        select(EvalItem, ItemResult)
        .outerjoin(ItemResult, (ItemResult.item_id == EvalItem.id) & (ItemResult.run_id == run_id))
        .where(EvalItem.version_id == _version_of(session, run_id))
        .order_by(EvalItem.position)
    )
    return [_result_of(item, result) for item, result in session.execute(query).all()]


def _result_of(item: EvalItem, result: ItemResult | None) -> RunItemResult:
    answered: dict[str, Any] = {
        "output": None, "passed": None, "score": None, "prompt_tokens": 0,
        "completion_tokens": 0, "cost_usd": 0.0, "judge_cost_usd": 0.0, "latency_ms": None,
        "attempts": 0, "error": None, "error_kind": None, "judge": None,
    }  # fmt: skip
    if result is not None:
        answered = {name: getattr(result, name) for name in answered}
    return RunItemResult(
        item_id=item.id,
        item_key=item.item_key,
        position=item.position,
        input=item.input,
        target=item.target,
        metadata=item.item_metadata,
        has_result=result is not None,
        **answered,
    )


def finished_item_keys(session: Session, run_id: int) -> set[str]:
    """Keys of the items that have a final (error-free) result in the run."""
    return set(
        session.scalars(
            select(EvalItem.item_key)
            .join(ItemResult, ItemResult.item_id == EvalItem.id)
            .where(ItemResult.run_id == run_id, ItemResult.error.is_(None))
        )
    )
