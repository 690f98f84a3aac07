"""Where a batch run writes down its provider batches before it asks the provider anything.

:class:`BatchLedger` is the port the batch engine (:mod:`tasks.evaluation.batch_runner`) is
handed through its sink's ``batch_ledger`` attribute; the task layer wires it to the
registry's ``frontier_batches`` rows (:mod:`tasks.batch_ledger`), so a batch survives a
process kill: a re-run finds it there and polls it instead of paying again.
:class:`MemoryLedger` keeps the same records in memory when the sink offers no ledger (one
process only: nothing survives a kill).
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class BatchEntry:
    """One provider batch a run meant to submit, as its ledger holds it."""

    client_key: str
    """Ours, random, sent as the batch's metadata (finds a batch whose id was not stored)."""
    item_keys: tuple[str, ...]
    """The eval items the batch covers (its lines' ``custom_id``)."""
    batch_id: str | None = None
    """The provider's id, once it answered the creation."""


class BatchLedger(Protocol):
    """A run's provider batches, written down before the provider is asked for anything."""

    async def open_batches(self) -> list[BatchEntry]:
        """The run's batches whose results are not yet all written, oldest first."""
        ...

    async def reserve(self, provider: str, item_keys: Sequence[str]) -> BatchEntry:
        """Write down (durably) a batch about to be submitted, with a fresh client key."""
        ...

    async def record(
        self,
        client_key: str,
        *,
        input_file_id: str | None = None,
        batch_id: str | None = None,
        provider_status: str | None = None,
        collected: bool = False,
    ) -> None:
        """Store what the provider answered (None keeps a value); ``collected``: the batch's
        results are in the sink."""
        ...


class MemoryLedger:
    """A :class:`BatchLedger` in memory: for a sink with no ledger of its own."""

    def __init__(self) -> None:
        self.entries: dict[str, BatchEntry] = {}
        self.collected: set[str] = set()

    async def open_batches(self) -> list[BatchEntry]:
        return [e for key, e in self.entries.items() if key not in self.collected]

    async def reserve(self, provider: str, item_keys: Sequence[str]) -> BatchEntry:
        entry = BatchEntry(client_key=secrets.token_hex(16), item_keys=tuple(item_keys))
        self.entries[entry.client_key] = entry
        return entry

    async def record(
        self,
        client_key: str,
        *,
        input_file_id: str | None = None,
        batch_id: str | None = None,
        provider_status: str | None = None,
        collected: bool = False,
    ) -> None:
        if batch_id is not None:
            self.entries[client_key] = dataclasses.replace(
                self.entries[client_key], batch_id=batch_id
            )
        if collected:
            self.collected.add(client_key)
