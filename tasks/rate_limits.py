"""Provider rate limits shared by every process: the engine's :class:`SharedLimits` port.

A **provider key** is a route and its account: the litellm route (providers limit each model
apart), the ``api_base`` (else the route's provider) and the *name* of the key's environment
variable, never the key. Every candidate on one provider key shares one requests-per-minute
and one tokens-per-minute budget: the smallest ``limits.rpm`` / ``limits.tpm`` any registered
candidate on that key declares (:func:`provider_budgets`). A key no candidate gives an
``rpm`` or ``tpm`` has no shared limit.

Where the budget lives (``RELITIGATE_RATE_LIMITS``):

- ``prefect`` (``auto`` with ``PREFECT_API_URL`` set): Prefect global concurrency limits used
  as rate limits (``slot_decay_per_second``), ``rpm:<key>`` and ``tpm:<key>``, taken with
  :func:`prefect.concurrency.asyncio.rate_limit`. ``relitigate deploy`` creates them
  (:func:`upsert_prefect_limits`); a run creates a missing one with the registry's budget.
- ``registry`` (``auto`` on the embedded API, whose temporary server is this process's own):
  token buckets in the registry (:mod:`registry.rate_buckets`), one row per limit.
- ``off``: each process paces alone (its ``limits`` only).

Each process's own pacing (:class:`tasks.evaluation.pacing.Pacer`) stays the inner bound.
Requests are taken from the shared budget in blocks of up to a tenth of a second's worth, so
a process makes about ten round trips a second per key at full rate, not one per request.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import hashlib
import math
import random
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tasks.evaluation.pacing import SharedLimiter, current_shared_limits, using_shared_limits
from tasks.evaluation.types import CandidateSpec

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from tasks.context import RegistryContext

BURST_S = 0.5
"""A shared budget holds at most this many seconds' worth (a provider's own bucket usually
holds a second's: a smaller burst keeps clear of it)."""
BLOCK_S = 0.1
"""Requests are taken from a shared budget this many seconds' worth at a time."""


def provider_key(spec: CandidateSpec) -> str:
    """``route@api_base|KEY_VARIABLE``: the route and the account (endpoint and key
    variable), never the key itself. Providers limit each model of an account apart."""
    base = (spec.api_base or spec.route.split("/", 1)[0]).rstrip("/")
    return f"{spec.route}@{base}|{spec.api_key_env or ''}"


def limit_name(kind: str, key: str) -> str:
    """``rpm:<slug>-<hash>`` (or ``tpm:``): a Prefect-safe, unique name for a key's limit."""
    slug = re.sub(r"[^a-z0-9]+", "-", key.lower()).strip("-")[:80]
    digest = hashlib.sha256(key.encode()).hexdigest()[:8]
    return f"{kind}:{slug}-{digest}"


@dataclass(frozen=True)
class ProviderBudget:
    """One provider key's shared budget (None: no shared limit of that kind)."""

    key: str
    rpm: int | None = None
    tpm: int | None = None

    def merged(self, rpm: int | None, tpm: int | None) -> ProviderBudget:
        """The smaller of each budget."""
        return ProviderBudget(self.key, _least(self.rpm, rpm), _least(self.tpm, tpm))


def _least(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def provider_budgets(specs: Iterable[CandidateSpec]) -> dict[str, ProviderBudget]:
    """Each provider key's budget: the smallest rpm and tpm its candidates declare."""
    budgets: dict[str, ProviderBudget] = {}
    for spec in specs:
        key = provider_key(spec)
        budget = budgets.get(key, ProviderBudget(key))
        budgets[key] = budget.merged(spec.limits.rpm, spec.limits.tpm)
    return budgets


def bucket_shape(per_minute: int) -> tuple[float, int]:
    """``(per_second, capacity)`` of a shared budget of ``per_minute``."""
    per_second = per_minute / 60.0
    return per_second, max(1, math.floor(per_second * BURST_S))


def registered_specs(session: Session) -> list[CandidateSpec]:
    """Every registered API candidate as the engine sees it (one a stored setting the engine
    refuses is left out: its own run fails with that error)."""
    from sqlalchemy import select

    from registry.models import Candidate
    from tasks import mapping
    from tasks.evaluation.errors import ConfigurationError

    specs = []
    for row in session.scalars(select(Candidate)):
        try:
            specs.append(mapping.candidate_spec(row))
        except ConfigurationError:
            continue
    return specs


class _Blocks:
    """Requests taken ahead from a shared budget, handed out one at a time."""

    def __init__(self, per_minute: int) -> None:
        per_second, capacity = bucket_shape(per_minute)
        self.size = max(1, min(capacity, math.floor(per_second * BLOCK_S)))
        self.left = 0


class _Limiter(abc.ABC):
    """A provider key's shared limiter; the backend takes (:meth:`_take`) and charges."""

    def __init__(self, budget: ProviderBudget) -> None:
        self.budget = budget
        self.rpm_name = limit_name("rpm", budget.key) if budget.rpm else None
        self.tpm_name = limit_name("tpm", budget.key) if budget.tpm else None
        self._blocks = _Blocks(budget.rpm) if budget.rpm else None
        self._debt = 0
        self._ready = False

    async def admit(self, tokens: int) -> None:
        if not self._ready:
            await self._create()
            self._ready = True
        if self.rpm_name is not None and self._blocks is not None:
            if self._blocks.left <= 0:  # runs of one process share the key's blocks
                size = self._blocks.size
                await self._take(self.rpm_name, size)
                self._blocks.left += size  # += : another run may have taken one meanwhile
            self._blocks.left -= 1
        if self.tpm_name is not None:
            assert self.budget.tpm is not None
            want, capacity = tokens + self._debt, bucket_shape(self.budget.tpm)[1]
            take = max(0, min(want, capacity))
            self._debt = want - take if want > capacity else min(0, want)
            if take:
                await self._take(self.tpm_name, take)

    def charge(self, tokens: int) -> None:
        if self.tpm_name is not None:
            self._debt += tokens

    @abc.abstractmethod
    async def _create(self) -> None:
        """Make sure this key's budgets exist where they are kept."""

    @abc.abstractmethod
    async def _take(self, name: str, amount: int) -> None:
        """Take ``amount`` from budget ``name``, waiting until it has that much."""


class RegistryLimiter(_Limiter):
    """A key's budget in the registry's ``rate_buckets``."""

    def __init__(self, budget: ProviderBudget, sessions: sessionmaker[Session]) -> None:
        super().__init__(budget)
        self._sessions = sessions

    async def _create(self) -> None:
        from registry.rate_buckets import ensure_bucket

        def create() -> None:
            with self._sessions.begin() as session:
                for name, per_minute in self._limits():
                    per_second, capacity = bucket_shape(per_minute)
                    ensure_bucket(session, name, per_second=per_second, capacity=capacity)

        await asyncio.to_thread(create)

    def _limits(self) -> list[tuple[str, int]]:
        pairs = [(self.rpm_name, self.budget.rpm), (self.tpm_name, self.budget.tpm)]
        return [(n, v) for n, v in pairs if n is not None and v is not None]

    async def _take(self, name: str, amount: int) -> None:
        from registry.rate_buckets import take

        def take_now() -> float:
            with self._sessions.begin() as session:
                return take(session, name, amount)

        while (wait := await asyncio.to_thread(take_now)) > 0:
            await asyncio.sleep(wait * random.uniform(1.0, 1.2))


class PrefectLimiter(_Limiter):
    """A key's budget in two Prefect global concurrency limits with slot decay."""

    async def _create(self) -> None:
        await upsert_prefect_limits([self.budget], replace=False)

    async def _take(self, name: str, amount: int) -> None:
        from prefect.concurrency.asyncio import ConcurrencySlotAcquisitionError, rate_limit

        try:
            await rate_limit(name, occupy=amount, strict=True)
        except ConcurrencySlotAcquisitionError as exc:
            lowered = "greater than the limit" in str(exc.__cause__ or exc)
            if amount == 1 or name != self.rpm_name or self._blocks is None or not lowered:
                raise
            # The limit was lowered (in the UI, say) below a block: take one at a time.
            self._blocks.size = 1
            for _ in range(amount):
                await rate_limit(name, occupy=1, strict=True)


async def upsert_prefect_limits(budgets: Iterable[ProviderBudget], *, replace: bool) -> list[str]:
    """Create each budget's Prefect rate limits (``replace``: set present ones to the budget
    too; else a present limit, perhaps changed in the UI, stays). One line per limit."""
    from prefect import get_client
    from prefect.client.schemas.actions import (
        GlobalConcurrencyLimitCreate,
        GlobalConcurrencyLimitUpdate,
    )
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    lines = []
    async with get_client() as client:
        for budget in budgets:
            for kind, per_minute in (("rpm", budget.rpm), ("tpm", budget.tpm)):
                if per_minute is None:
                    continue
                name = limit_name(kind, budget.key)
                per_second, capacity = bucket_shape(per_minute)
                try:
                    await client.read_global_concurrency_limit_by_name(name)
                    present = True
                except ObjectNotFound:
                    present = False
                if not present:
                    with contextlib.suppress(ObjectAlreadyExists):  # another process won
                        await client.create_global_concurrency_limit(
                            GlobalConcurrencyLimitCreate(
                                name=name, limit=capacity, slot_decay_per_second=per_second
                            )
                        )
                elif replace:
                    await client.update_global_concurrency_limit(
                        name,
                        GlobalConcurrencyLimitUpdate(
                            limit=capacity, slot_decay_per_second=per_second
                        ),
                    )
                lines.append(
                    f"rate limit {name} ({per_minute} {kind}, burst {capacity}) for {budget.key}"
                )
    return lines


class ProviderLimits:
    """The port handed to the engine: one limiter per provider key, on one backend."""

    def __init__(self, ctx: RegistryContext, backend: str) -> None:
        self._ctx, self.backend = ctx, backend
        self._budgets: dict[str, ProviderBudget] | None = None
        self._limiters: dict[str, SharedLimiter | None] = {}

    def limiter_for(self, spec: CandidateSpec) -> SharedLimiter | None:
        key = provider_key(spec)
        if key not in self._limiters:
            budget = self._registered().get(key, ProviderBudget(key))
            budget = budget.merged(spec.limits.rpm, spec.limits.tpm)
            self._limiters[key] = self._limiter(budget)
        return self._limiters[key]

    def _limiter(self, budget: ProviderBudget) -> SharedLimiter | None:
        if budget.rpm is None and budget.tpm is None:
            return None
        if self.backend == "prefect":
            return PrefectLimiter(budget)
        return RegistryLimiter(budget, self._ctx.sessions)

    def _registered(self) -> dict[str, ProviderBudget]:
        if self._budgets is None:
            with self._ctx.sessions.begin() as session:
                self._budgets = provider_budgets(registered_specs(session))
        return self._budgets


def backend_of(setting: str) -> str | None:
    """``prefect``, ``registry`` or None (off) for ``RELITIGATE_RATE_LIMITS``."""
    if setting == "off":
        return None
    if setting != "auto":
        return setting
    from prefect.settings import get_current_settings

    return "prefect" if get_current_settings().api.url else "registry"


@contextlib.contextmanager
def shared_rate_limits(ctx: RegistryContext) -> Iterator[None]:
    """Hand the engine the shared limits for the length of the block (unless a caller
    already did, or ``RELITIGATE_RATE_LIMITS=off``)."""
    backend = None if current_shared_limits() is not None else backend_of(ctx.settings.rate_limits)
    if backend is None:
        yield
        return
    with using_shared_limits(ProviderLimits(ctx, backend)):
        yield
