"""Per-route pacing: a concurrency bound plus requests- and tokens-per-minute buckets."""

from __future__ import annotations

import asyncio
import time
from types import TracebackType

from tasks.evaluation.types import Limits


class TokenBucket:
    """A bucket refilled at ``per_minute / 60`` per second, holding one second's worth.

    :meth:`take` may drive the level negative (a debt paid back before the next take): a
    call's completion tokens are only known once it returns.
    """

    def __init__(self, per_minute: float, *, burst: float | None = None) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, burst if burst is not None else self.rate)
        self.level = self.capacity
        self.stamp = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait_s(self, amount: float) -> float:
        """Seconds until ``amount`` can be taken (0: now)."""
        self._refill()
        need = min(amount, self.capacity)
        return 0.0 if self.level >= need else (need - self.level) / self.rate

    def take(self, amount: float) -> None:
        """Take ``amount`` now (may leave a debt)."""
        self._refill()
        self.level -= amount


class Pacer:
    """Admits calls to one route. Use ``async with pacer.slot(tokens):`` around a call.

    A 429's Retry-After holds the whole route back (:meth:`hold`), not only the item.
    """

    def __init__(self, limits: Limits) -> None:
        self._sem = asyncio.Semaphore(limits.concurrency)
        self._rpm = TokenBucket(limits.rpm) if limits.rpm else None
        self._tpm = TokenBucket(limits.tpm) if limits.tpm else None
        self._not_before = 0.0
        self._lock = asyncio.Lock()

    def hold(self, seconds: float) -> None:
        """Admit nothing new for ``seconds``."""
        self._not_before = max(self._not_before, time.monotonic() + seconds)

    def charge_tokens(self, tokens: int) -> None:
        """Count tokens learned after a call (completion tokens) against the tpm bucket."""
        if self._tpm is not None:
            self._tpm.take(tokens)

    def slot(self, est_tokens: int = 0) -> _Slot:
        """A context manager holding one concurrency slot, admitted by the buckets."""
        return _Slot(self, est_tokens)

    async def _admit(self, est_tokens: int) -> None:
        await self._sem.acquire()
        if self._rpm is None and self._tpm is None and self._not_before == 0.0:
            return
        try:
            async with self._lock:  # one waiter at a time keeps admissions in order
                while True:
                    wait = self._not_before - time.monotonic()
                    if self._rpm is not None:
                        wait = max(wait, self._rpm.wait_s(1))
                    if self._tpm is not None:
                        wait = max(wait, self._tpm.wait_s(est_tokens))
                    if wait <= 0:
                        break
                    await asyncio.sleep(wait)
                if self._rpm is not None:
                    self._rpm.take(1)
                if self._tpm is not None:
                    self._tpm.take(est_tokens)
        except BaseException:
            self._sem.release()
            raise


class _Slot:
    def __init__(self, pacer: Pacer, est_tokens: int) -> None:
        self._pacer, self._tokens = pacer, est_tokens

    async def __aenter__(self) -> None:
        await self._pacer._admit(self._tokens)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._pacer._sem.release()
