"""Sequential evaluations: open one (its seed and waves), record each look, read it back.

The row is opened before the first wave is called and never re-seeded: a re-run after a kill
reads the same seed and waves, so it calls the same items and pays only for what is missing.
Functions take a ``Session`` and never commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.db import dialect_insert
from registry.errors import InvalidValueError, NotFoundError
from registry.quarters import check_quarter
from registry.wave_models import SequentialEvaluation

STATES = ("running", "stopped", "ended")


def open_sequential(
    session: Session,
    *,
    workload_id: int,
    quarter: str,
    attempt: int,
    seed: int,
    spending: str,
    wave_sizes: Sequence[int],
    items_total: int,
) -> SequentialEvaluation:
    """Get or create the quarter's sequential evaluation; a stored one keeps its seed and
    waves (safe under concurrent callers: the first insert wins)."""
    check_quarter(quarter)
    if not wave_sizes or wave_sizes[-1] != items_total:
        raise InvalidValueError(
            f"wave sizes {list(wave_sizes)} must end at the eval set's {items_total} items"
        )
    session.execute(
        dialect_insert(session)(SequentialEvaluation)
        .values(
            workload_id=workload_id,
            quarter=quarter,
            attempt=attempt,
            seed=seed,
            spending=spending,
            wave_sizes=list(wave_sizes),
            waves_done=0,
            state="running",
            looks=[],
            items_total=items_total,
            items_used=0,
            buy_items={},
            buy_spend_usd=0.0,
            saved_usd=0.0,
        )
        .on_conflict_do_nothing(index_elements=["workload_id", "quarter", "attempt"])
    )
    row = get_sequential(session, workload_id=workload_id, quarter=quarter, attempt=attempt)
    assert row is not None
    return row


def get_sequential(
    session: Session, *, workload_id: int, quarter: str, attempt: int
) -> SequentialEvaluation | None:
    """The quarter's sequential evaluation for ``attempt``, if one was opened."""
    return session.scalars(
        select(SequentialEvaluation)
        .where(
            SequentialEvaluation.workload_id == workload_id,
            SequentialEvaluation.quarter == check_quarter(quarter),
            SequentialEvaluation.attempt == attempt,
        )
        .execution_options(populate_existing=True)
    ).one_or_none()


def record_look(
    session: Session,
    evaluation_id: int,
    *,
    look: Mapping[str, Any],
    state: str,
    usage: Mapping[str, Any],
) -> SequentialEvaluation:
    """Record the look taken after wave ``look["wave"]``: it replaces an earlier record of the
    same wave (``run --force`` walks the waves again), ``waves_done`` never goes down.

    Args:
        look: wave, items, verdict, levels, step and reason of the look (JSON-able).
        state: ``running`` (another wave follows), ``stopped`` or ``ended``.
        usage: ``items_used``, ``buy_items`` (name -> items called), ``buy_spend_usd``,
            ``saved_usd``.
    """
    if state not in STATES:
        raise InvalidValueError(f"bad sequential state {state!r}: one of {list(STATES)}")
    row = session.get(SequentialEvaluation, evaluation_id)
    if row is None:
        raise NotFoundError(f"no sequential evaluation with id {evaluation_id}")
    wave = int(look["wave"])
    row.looks = [*(x for x in row.looks or [] if int(x["wave"]) < wave), dict(look)]
    row.waves_done = max(row.waves_done, wave)
    row.state = state
    row.stopped_at_wave = wave if state == "stopped" else None
    row.reason = str(look.get("reason") or "")
    row.items_used = int(usage["items_used"])
    row.buy_items = {str(k): int(v) for k, v in dict(usage["buy_items"]).items()}
    row.buy_spend_usd = float(usage["buy_spend_usd"])
    row.saved_usd = float(usage["saved_usd"])
    session.flush()
    return row
