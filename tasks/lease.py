"""Holding a registry lease while async work runs: wait for it, heartbeat it, let it go.

:func:`held_lease` waits (bounded) for the lease, logging who holds it; while the body runs a
heartbeat renews it every ``heartbeat_s``; when the body ends the lease is released. If a
renewal finds the lease taken over (this process stalled past its expiry, or could not reach
the registry for longer than the time to live), the body is cancelled and
:class:`~registry.leases.LeaseLostError` raised: another process now owns the work, and this
one must stop spending on it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

import anyio
from sqlalchemy.orm import Session, sessionmaker

from registry import leases
from registry.leases import Holder, LeaseHeldError, LeaseLostError, LeaseState


@dataclass(frozen=True)
class LeaseTimes:
    """How long a lease lives, how often it is renewed, how long to wait for it (seconds)."""

    ttl_s: float
    heartbeat_s: float
    wait_s: float
    poll_s: float = 1.0
    """How often a waiting process asks again."""


@dataclass(frozen=True)
class Acquired:
    """The lease this process holds, and how long it waited for it."""

    state: LeaseState
    waited_s: float


async def acquire_waiting(
    factory: sessionmaker[Session],
    name: str,
    holder: Holder,
    times: LeaseTimes,
    *,
    label: str,
    log: logging.Logger | logging.LoggerAdapter[logging.Logger],
) -> Acquired:
    """Take the lease ``name``, waiting up to ``times.wait_s`` for its holder to finish.

    Raises:
        LeaseHeldError: still held by another process after the wait.
    """

    def ask() -> LeaseState:
        with factory.begin() as session:
            return leases.acquire(session, name, holder, ttl_s=times.ttl_s)

    start = time.monotonic()
    next_log = 0.0
    while True:
        state = await anyio.to_thread.run_sync(ask)
        waited = time.monotonic() - start
        if state.mine:
            if state.took_over is not None:
                log.warning(
                    "%s: took the lease over from %s, whose lease had expired",
                    label, state.took_over.describe(),
                )  # fmt: skip
            if waited >= times.poll_s:
                log.info("%s: waited %.1f s for the lease", label, waited)
            return Acquired(state, waited)
        if waited >= times.wait_s:
            raise LeaseHeldError(
                f"{label} is being benchmarked by {state.holder.describe()} since "
                f"{state.acquired_at:%Y-%m-%d %H:%M:%S} UTC (lease renewed until "
                f"{state.expires_at:%H:%M:%S}); waited {waited:.0f} s "
                "(RELITIGATE_LEASE_WAIT_S); run again once it has finished"
            )
        if waited >= next_log:
            log.info(
                "%s: held by %s since %s UTC (expires %s UTC unless renewed); waiting "
                "(%.0f s so far, at most %.0f s)",
                label, state.holder.describe(), f"{state.acquired_at:%H:%M:%S}",
                f"{state.expires_at:%H:%M:%S}", waited, times.wait_s,
            )  # fmt: skip
            next_log = waited + 30.0
        await asyncio.sleep(min(times.poll_s, max(0.05, times.wait_s - waited)))


@asynccontextmanager
async def held_lease(
    factory: sessionmaker[Session],
    name: str,
    holder: Holder,
    times: LeaseTimes,
    *,
    label: str,
    log: logging.Logger | logging.LoggerAdapter[logging.Logger],
) -> AsyncIterator[Acquired]:
    """Hold the lease ``name`` while the body runs (see the module docstring)."""
    acquired = await acquire_waiting(factory, name, holder, times, label=label, log=log)
    body = asyncio.current_task()
    lost: list[str] = []

    def renew() -> bool:
        with factory.begin() as session:
            return leases.renew(session, name, holder.token, ttl_s=times.ttl_s) is not None

    async def heartbeat() -> None:
        last_ok = time.monotonic()
        while True:
            await asyncio.sleep(times.heartbeat_s)
            try:
                still_mine = await anyio.to_thread.run_sync(renew)
            except Exception as exc:  # the registry is unreachable: retry until the TTL
                if time.monotonic() - last_ok < times.ttl_s:
                    log.warning("%s: could not renew the lease (%s); retrying", label,
                                type(exc).__name__)  # fmt: skip
                    continue
                still_mine = False
            if still_mine:
                last_ok = time.monotonic()
                continue
            lost.append(f"{label}: the lease expired and was taken over by another process")
            if body is not None:
                body.cancel()
            return

    beat = asyncio.create_task(heartbeat())
    try:
        yield acquired
    except asyncio.CancelledError:
        if lost and body is not None:
            body.uncancel()
            raise LeaseLostError(lost[0] + "; this process stopped its work") from None
        raise
    finally:
        beat.cancel()
        with suppress(asyncio.CancelledError):
            await beat
        if not lost:

            def release() -> None:
                with factory.begin() as session:
                    leases.release(session, name, holder.token)

            with suppress(Exception):  # it expires on its own
                await anyio.to_thread.run_sync(release)
