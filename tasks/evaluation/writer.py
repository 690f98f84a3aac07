"""Results handed to the sink in order and in batches, each one journaled as it arrives."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from tasks.evaluation.types import ItemResult, ResultSink


class ResultWriter:
    """Buffers results and writes them to the sink in order, in batches.

    A sink that also has a synchronous ``record(result)`` method hears each result the
    moment it arrives, before it is buffered (the task layer journals it to disk there, so a
    hard kill between two batches loses nothing already received).
    """

    def __init__(self, sink: ResultSink, every: int, interval_s: float) -> None:
        self.sink, self.every, self.interval_s = sink, max(1, every), interval_s
        self._record: Callable[[ItemResult], object] | None = getattr(sink, "record", None)
        self.buf: list[ItemResult] = []
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def start(self) -> None:
        """Start the background flushes (every ``interval_s`` seconds)."""
        self._task = asyncio.create_task(self._loop())

    async def add(self, result: ItemResult) -> None:
        """Record ``result`` now and buffer it for the next batch."""
        if self._record is not None:
            self._record(result)
        self.buf.append(result)
        if len(self.buf) >= self.every:
            if len(self.buf) >= 4 * self.every:  # the sink lags: wait for it (bounded memory)
                await self.flush()
            else:
                self._wake.set()

    async def _loop(self) -> None:
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval_s)
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        """Write what is buffered, as one batch."""
        async with self._lock:
            if self.buf:
                batch, self.buf = self.buf, []
                await self.sink.write(batch)

    async def close(self) -> None:
        """Stop the background flushes and write the rest."""
        # The loop is told to stop, never cancelled: a cancelled flush could drop a batch
        # taken from the buffer, and on Python 3.11 ``wait_for`` can swallow a cancellation
        # (the loop would then never end). A sink failure surfaces here instead of vanishing.
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
        await self.flush()
