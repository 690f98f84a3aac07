"""A run's provider batches (``frontier_batches``): recorded before the provider is asked.

The order that keeps a kill from paying twice (:mod:`tasks.evaluation.batch_runner` drives
it through :mod:`tasks.batch_ledger`):

1. :func:`reserve_batch` writes a ``preparing`` row with a fresh random ``client_key`` and the
   item keys, and the caller commits it, before anything is sent;
2. the input file is uploaded (:func:`record_batch` stores its id: uploads cost nothing);
3. the batch is created with the ``client_key`` in its metadata, and :func:`record_batch`
   stores its ``batch_id`` (status ``submitted``);
4. once its results are in the run's checkpoints, :func:`record_batch` marks it ``collected``.

A re-run reads :func:`open_batches`: a ``submitted`` row is polled; a ``preparing`` one is
first looked for at the provider by its ``client_key`` and only submitted if it is not there.
Functions take a ``Session`` and never commit.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.batch_models import BatchStatus, FrontierBatch
from registry.columns import utcnow
from registry.errors import NotFoundError


@dataclass(frozen=True, slots=True)
class BatchRow:
    """One ``frontier_batches`` row, detached from its session."""

    run_id: int
    client_key: str
    item_keys: tuple[str, ...]
    status: BatchStatus
    provider: str
    input_file_id: str | None
    batch_id: str | None
    provider_status: str | None


def _row(b: FrontierBatch) -> BatchRow:
    return BatchRow(
        run_id=b.run_id, client_key=b.client_key, item_keys=tuple(b.item_keys),
        status=BatchStatus(b.status), provider=b.provider, input_file_id=b.input_file_id,
        batch_id=b.batch_id, provider_status=b.provider_status,
    )  # fmt: skip


def reserve_batch(
    session: Session, *, run_id: int, provider: str, item_keys: Sequence[str]
) -> BatchRow:
    """Record a batch the caller is about to submit (``preparing``, a fresh client key)."""
    batch = FrontierBatch(
        run_id=run_id, client_key=secrets.token_hex(16), item_keys=list(item_keys),
        status=BatchStatus.PREPARING, provider=provider,
    )  # fmt: skip
    session.add(batch)
    session.flush()
    return _row(batch)


def open_batches(session: Session, run_id: int) -> list[BatchRow]:
    """The run's batches not yet collected, oldest first."""
    rows = session.scalars(
        select(FrontierBatch)
        .where(FrontierBatch.run_id == run_id, FrontierBatch.status != BatchStatus.COLLECTED)
        .order_by(FrontierBatch.id)
    )
    return [_row(b) for b in rows]


def run_batches(session: Session, run_id: int) -> list[BatchRow]:
    """Every batch of the run, oldest first."""
    rows = session.scalars(
        select(FrontierBatch).where(FrontierBatch.run_id == run_id).order_by(FrontierBatch.id)
    )
    return [_row(b) for b in rows]


def record_batch(
    session: Session,
    client_key: str,
    *,
    input_file_id: str | None = None,
    batch_id: str | None = None,
    provider_status: str | None = None,
    collected: bool = False,
) -> BatchRow:
    """Store what the provider answered about a batch (the values given; None keeps a value).

    A ``batch_id`` makes the row ``submitted``; ``collected`` marks its results as written.

    Raises:
        NotFoundError: no batch has that client key.
    """
    batch = session.scalar(select(FrontierBatch).where(FrontierBatch.client_key == client_key))
    if batch is None:
        raise NotFoundError(f"no frontier batch with client key {client_key!r}")
    if input_file_id is not None:
        batch.input_file_id = input_file_id
    if batch_id is not None and batch.batch_id != batch_id:
        batch.batch_id, batch.submitted_at = batch_id, utcnow()
        batch.status = BatchStatus.SUBMITTED
    if provider_status is not None:
        batch.provider_status = provider_status
    if collected:
        batch.status, batch.collected_at = BatchStatus.COLLECTED, utcnow()
    session.flush()
    return _row(batch)
