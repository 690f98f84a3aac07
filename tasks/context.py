"""One way in to the registry: the context an entry point builds once and hands down.

An entry point (a CLI command, a flow run) reads the settings and opens the registry once
(:func:`open_context`: reachable, initialised, at this code's schema revision, so an old or
empty database fails with "run `relitigate init`" before any work). Every task and task-layer
function below it takes the resulting :class:`RegistryContext` as its first argument; none
reads the environment or keeps an engine of its own.

Flow parameters are stored in the Prefect API, so a context cannot travel as one. A flow run
takes its context from :func:`flow_context`: the one its caller handed down with
:func:`handed_down` (the CLI's ``run``, a parent flow in the same process), else one opened
from the environment for the run's duration (a worker process, where the flow run is the
entry point). Either way the run's provider calls share each provider key's budget with
every other process (:mod:`tasks.rate_limits`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from tasks.lease import LeaseTimes
from tasks.settings import Settings, load_settings


@dataclass(frozen=True)
class RegistryContext:
    """The settings and the registry's session factory, as one entry point opened them."""

    settings: Settings
    sessions: sessionmaker[Session]
    """Each unit of work opens ``with ctx.sessions.begin() as session:``."""

    @property
    def registry_url(self) -> str:
        """The registry's URL (names each run's local journal)."""
        return self.settings.resolved_database_url()

    @property
    def memo_dir(self) -> Path:
        """Where decision memos and their charts are written."""
        return self.settings.data_dir / "memos"

    @property
    def lease_times(self) -> LeaseTimes:
        """How benchmark leases live, renew and are waited for (``RELITIGATE_LEASE_*``)."""
        s = self.settings
        return LeaseTimes(
            ttl_s=s.lease_ttl_s, heartbeat_s=s.lease_heartbeat_s, wait_s=s.lease_wait_s
        )

    def close(self) -> None:
        """Dispose of the registry's engine (its pooled connections)."""
        bind = self.sessions.kw.get("bind")
        if bind is not None:
            bind.dispose()


def open_context(settings: Settings | None = None) -> RegistryContext:
    """Open the registry named by ``settings`` (default: read from the environment now).

    Raises:
        tasks.settings.SettingsError: a malformed ``RELITIGATE_*`` variable.
        registry.errors.DatabaseError: unreachable, not initialised, or at another schema
            revision (the message says to run ``relitigate init`` where that helps).
    """
    from registry.db import open_registry

    settings = load_settings() if settings is None else settings
    return RegistryContext(
        settings=settings, sessions=open_registry(settings.resolved_database_url())
    )


@contextlib.contextmanager
def opened(settings: Settings | None = None) -> Iterator[RegistryContext]:
    """:func:`open_context` for the length of a ``with`` block, then closed."""
    ctx = open_context(settings)
    try:
        yield ctx
    finally:
        ctx.close()


_HANDED_DOWN: ContextVar[RegistryContext | None] = ContextVar("relitigate_context", default=None)


@contextlib.contextmanager
def handed_down(ctx: RegistryContext) -> Iterator[RegistryContext]:
    """Flow runs started inside this block (in this thread or task) use ``ctx``."""
    token = _HANDED_DOWN.set(ctx)
    try:
        yield ctx
    finally:
        _HANDED_DOWN.reset(token)


@contextlib.contextmanager
def flow_context() -> Iterator[RegistryContext]:
    """The context of a flow run: the one handed down to it, else one opened from the
    environment now (and handed down to its subflows), closed when the run ends."""
    from tasks.rate_limits import shared_rate_limits

    given = _HANDED_DOWN.get()
    if given is not None:
        with shared_rate_limits(given):
            yield given
        return
    with opened() as ctx, handed_down(ctx), shared_rate_limits(ctx):
        yield ctx
