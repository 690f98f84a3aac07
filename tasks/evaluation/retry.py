"""Retries: exponential backoff with full jitter, honouring a provider's Retry-After.

Transient errors (:class:`TransientProviderError`: 429, 408/409/5xx, timeouts, connection
errors) are retried up to ``max_attempts`` (429s until their waits add up to
``max_rate_limited_wait_s``); anything else propagates at once, so a permanent
error (auth, unknown model, bad request) stops the run before more money is spent.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from tasks.evaluation.errors import TransientProviderError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long to wait between attempts."""

    max_attempts: int = 5
    base_s: float = 0.25
    """Backoff before the second attempt (before jitter); doubles each time."""
    cap_s: float = 20.0
    max_retry_after_s: float = 120.0
    max_rate_limited_wait_s: float = 600.0
    """429s do not count against ``max_attempts`` (the provider says when to come back, and
    waiting costs nothing); an item gives up once its 429 waits add up to this."""
    """A Retry-After longer than this is capped (the next attempt may be refused again)."""


def backoff_s(
    policy: RetryPolicy, attempt: int, error: TransientProviderError, rng: random.Random
) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based).

    With a Retry-After: that long plus up to 10 % jitter (so waiting clients do not return
    in lockstep). Otherwise full jitter: uniform in [0, min(cap, base * 2**(attempt-1))].
    """
    if error.retry_after_s is not None:
        wait = min(error.retry_after_s, policy.max_retry_after_s)
        return wait + rng.uniform(0, 0.1 * wait + 0.01)
    return rng.uniform(0, min(policy.cap_s, policy.base_s * 2 ** (attempt - 1)))


@dataclass(slots=True)
class Attempts:
    """How many attempts a call took, and the last transient error if it gave up."""

    count: int = 0
    rate_limited: int = 0
    rate_limited_wait_s: float = 0.0
    last_error: TransientProviderError | None = None


async def call_with_retry(
    fn: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    attempts: Attempts,
    rng: random.Random,
    on_retry_after: Callable[[float], None] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Call ``fn`` until it succeeds, a non-transient error escapes, or attempts run out.

    Raises the last :class:`TransientProviderError` when attempts run out. ``on_retry_after``
    hears every Retry-After (the pacer uses it to hold the whole route back).
    """
    while True:
        attempts.count += 1
        try:
            return await fn()
        except TransientProviderError as exc:
            attempts.last_error = exc
            wait = backoff_s(policy, attempts.count - attempts.rate_limited, exc, rng)
            if exc.kind == "rate_limit":
                attempts.rate_limited += 1
                attempts.rate_limited_wait_s += wait
                if attempts.rate_limited_wait_s > policy.max_rate_limited_wait_s:
                    raise
            elif attempts.count - attempts.rate_limited >= policy.max_attempts:
                raise
            if exc.retry_after_s is not None and on_retry_after is not None:
                on_retry_after(exc.retry_after_s)
            await sleep(wait)
