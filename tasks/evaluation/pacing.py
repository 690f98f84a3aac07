"""Per-route pacing: a concurrency bound plus requests- and tokens-per-minute buckets.

The buckets here are this process's. A provider account's limit is shared by every process
that calls it (the quarter flow, workers, on-demand runs): the task layer hands the engine a
:class:`SharedLimits` port with :func:`using_shared_limits`, and each run's :class:`Pacer`
asks it for its route's :class:`SharedLimiter`, the outer bound every admission also passes
(after this process's own buckets, the inner bound). The engine knows nothing of what is
behind the port (a Prefect server's rate limits, registry-backed buckets).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar
from types import TracebackType
from typing import Protocol

from tasks.evaluation.types import CandidateSpec, Limits


class SharedLimiter(Protocol):
    """One provider key's budget, shared with other processes."""

    async def admit(self, tokens: int) -> None:
        """Wait until one more request of about ``tokens`` tokens fits the shared budget."""
        ...

    def charge(self, tokens: int) -> None:
        """Count tokens learned after a call (negative: the estimate was too high); settled
        at a later :meth:`admit`."""
        ...


class SharedLimits(Protocol):
    """Gives each candidate's route its shared limiter (None: the route has none)."""

    def limiter_for(self, spec: CandidateSpec) -> SharedLimiter | None: ...


_SHARED: ContextVar[SharedLimits | None] = ContextVar("relitigate_shared_limits", default=None)


@contextlib.contextmanager
def using_shared_limits(limits: SharedLimits | None) -> Iterator[None]:
    """Runs started inside this block (this task, and tasks and threads it starts) pass
    every call through ``limits`` too."""
    token = _SHARED.set(limits)
    try:
        yield
    finally:
        _SHARED.reset(token)


def current_shared_limits() -> SharedLimits | None:
    """The port handed to the engine here, if any."""
    return _SHARED.get()


def shared_limiter_for(spec: CandidateSpec) -> SharedLimiter | None:
    """The shared limiter of ``spec``'s route, when a port was handed down."""
    port = _SHARED.get()
    return None if port is None else port.limiter_for(spec)


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

    def __init__(self, limits: Limits, shared: SharedLimiter | None = None) -> None:
        self._shared = shared
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
        if self._shared is not None:
            self._shared.charge(tokens)

    def slot(self, est_tokens: int = 0) -> _Slot:
        """A context manager holding one concurrency slot, admitted by the buckets."""
        return _Slot(self, est_tokens)

    async def _admit(self, est_tokens: int) -> None:
        await self._sem.acquire()
        local = self._rpm is not None or self._tpm is not None or self._not_before != 0.0
        if not local and self._shared is None:
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
                if self._shared is not None:  # the outer bound, after this process's own
                    await self._shared.admit(est_tokens)
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
