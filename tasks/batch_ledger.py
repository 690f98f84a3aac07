"""A run's provider batches in the registry: the batch engine's ledger, wired by the task.

:class:`RegistryBatchLedger` is the :class:`~tasks.evaluation.batch_ledger.BatchLedger` a
benchmark's sink hands the engine (its ``batch_ledger``): each call is one committed
transaction on ``frontier_batches`` (:mod:`registry.batches`), run in a worker thread, so a
batch is on record before the provider is asked and a re-run of the same run finds it.
"""

from __future__ import annotations

from collections.abc import Sequence

import anyio
from sqlalchemy.orm import Session, sessionmaker

from registry.batches import BatchRow, open_batches, record_batch, reserve_batch
from tasks.evaluation.batch_ledger import BatchEntry


def _entry(row: BatchRow) -> BatchEntry:
    return BatchEntry(client_key=row.client_key, item_keys=row.item_keys, batch_id=row.batch_id)


class RegistryBatchLedger:
    """Run ``run_id``'s batches, one committed transaction per change."""

    def __init__(self, run_id: int, sessions: sessionmaker[Session]) -> None:
        self.run_id, self.sessions = run_id, sessions

    async def open_batches(self) -> list[BatchEntry]:
        def read() -> list[BatchEntry]:
            with self.sessions.begin() as session:
                return [_entry(row) for row in open_batches(session, self.run_id)]

        return await anyio.to_thread.run_sync(read)

    async def reserve(self, provider: str, item_keys: Sequence[str]) -> BatchEntry:
        def write() -> BatchEntry:
            with self.sessions.begin() as session:
                row = reserve_batch(
                    session, run_id=self.run_id, provider=provider, item_keys=item_keys
                )
                return _entry(row)

        return await anyio.to_thread.run_sync(write)

    async def record(
        self,
        client_key: str,
        *,
        input_file_id: str | None = None,
        batch_id: str | None = None,
        provider_status: str | None = None,
        collected: bool = False,
    ) -> None:
        def write() -> None:
            with self.sessions.begin() as session:
                record_batch(
                    session, client_key, input_file_id=input_file_id, batch_id=batch_id,
                    provider_status=provider_status, collected=collected,
                )  # fmt: skip

        await anyio.to_thread.run_sync(write)
