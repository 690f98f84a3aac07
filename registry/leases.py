"""Leases: one process at a time holds a named piece of work, until it lets go or goes quiet.

A lease is one row of ``leases``, keyed by name (a benchmark's is :func:`benchmark_lease_name`).
Its holder is a process (host, pid, Prefect flow run id when there is one) with a random
``token``; the holder renews it (a heartbeat) before ``expires_at``, and deletes it when done.
A holder that was killed stops renewing: once the lease has expired, the next process to ask
takes it over.

Taking a lease is one conditional upsert: insert the row, or, if the name is taken, overwrite
it only where it has expired (or is already ours). On PostgreSQL the conflicting row is locked
while the statement runs, so of two processes asking at once exactly one gets it; on SQLite
every transaction starts with ``BEGIN IMMEDIATE`` (see :mod:`registry.db`), which serialises
them. Renewal and release are conditional on the token, so a holder that stalled past its
expiry and was taken over cannot renew or release the new holder's lease: it learns that it
lost it instead.

Times come from the database server's clock on PostgreSQL (holders on different machines
agree on when a lease expires) and from this machine's clock on SQLite (a SQLite registry is on
one machine). Functions take a ``Session`` and never commit: keep the transaction short, so the
lease is visible to others as soon as it is taken.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from registry.db import dialect_insert
from registry.errors import InvalidValueError, RegistryError
from registry.models import Lease, utcnow


class LeaseHeldError(RegistryError):
    """Another process held the lease for longer than the caller would wait."""


class LeaseLostError(RegistryError):
    """The holder's lease expired and another process took it over (the holder stalled)."""

    exit_code = 1


@dataclass(frozen=True)
class Holder:
    """Who holds (or asks for) a lease."""

    token: str
    host: str
    pid: int
    flow_run_id: str | None = None

    @classmethod
    def this_process(cls, flow_run_id: str | None = None) -> Holder:
        """This process, with a fresh random token."""
        return cls(secrets.token_hex(16), socket.gethostname(), os.getpid(), flow_run_id)

    def describe(self) -> str:
        """``host pid 123 (flow run ...)``: for log lines and errors (never the token)."""
        run = f" (flow run {self.flow_run_id})" if self.flow_run_id else ""
        return f"{self.host} pid {self.pid}{run}"


@dataclass(frozen=True)
class LeaseState:
    """A lease as one process saw it after asking for it."""

    name: str
    holder: Holder
    acquired_at: datetime
    renewed_at: datetime
    expires_at: datetime
    mine: bool
    """True when the asking process holds it now."""
    took_over: Holder | None = None
    """The expired holder this process took the lease over from, if any."""


def benchmark_lease_name(
    *, candidate_id: int, eval_set_version_id: int, quarter: str, attempt: int
) -> str:
    """The lease of one benchmark: one candidate, eval-set version, quarter and attempt."""
    return f"benchmark:{candidate_id}:{eval_set_version_id}:{quarter}:{attempt}"


def database_now(session: Session) -> datetime:
    """The current time, timezone-aware UTC, from the database server where it has a clock."""
    if session.get_bind().dialect.name == "postgresql":
        now = session.scalar(select(func.clock_timestamp()))
        assert isinstance(now, datetime)
        return now
    return utcnow()


def _state(row: Lease, token: str, took_over: Holder | None = None) -> LeaseState:
    return LeaseState(
        name=row.name,
        holder=Holder(row.token, row.host, row.pid, row.flow_run_id),
        acquired_at=row.acquired_at,
        renewed_at=row.renewed_at,
        expires_at=row.expires_at,
        mine=row.token == token,
        took_over=took_over,
    )


def _ttl(ttl_s: float) -> timedelta:
    if not ttl_s > 0:
        raise InvalidValueError(f"a lease needs a positive time to live, got {ttl_s!r} s")
    return timedelta(seconds=ttl_s)


def acquire(session: Session, name: str, holder: Holder, *, ttl_s: float) -> LeaseState:
    """Take the lease ``name`` for ``ttl_s`` seconds if it is free, expired or already ours.

    Returns:
        The lease as it stands: ``mine`` tells whether ``holder`` has it; if not, ``holder``
        of the result is who does, and until when.
    """
    ttl = _ttl(ttl_s)
    now = database_now(session)
    before = session.scalars(
        select(Lease).where(Lease.name == name).execution_options(populate_existing=True)
    ).first()
    previous = None
    if before is not None and before.token != holder.token and before.expires_at <= now:
        previous = Holder(before.token, before.host, before.pid, before.flow_run_id)
    stmt = dialect_insert(session)(Lease).values(
        name=name,
        token=holder.token,
        host=holder.host,
        pid=holder.pid,
        flow_run_id=holder.flow_run_id,
        acquired_at=now,
        renewed_at=now,
        expires_at=now + ttl,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["name"],
        set_={c: stmt.excluded[c] for c in ("token", "host", "pid", "flow_run_id",
                                             "acquired_at", "renewed_at", "expires_at")},
        where=(Lease.expires_at <= now) | (Lease.token == holder.token),
    )  # fmt: skip
    session.execute(stmt)
    row = session.scalars(
        select(Lease).where(Lease.name == name).execution_options(populate_existing=True)
    ).one()
    mine = row.token == holder.token
    return _state(row, holder.token, previous if mine else None)


def renew(session: Session, name: str, token: str, *, ttl_s: float) -> datetime | None:
    """Push the lease's expiry ``ttl_s`` seconds ahead; None if ``token`` no longer holds it."""
    ttl = _ttl(ttl_s)
    now = database_now(session)
    done = session.execute(
        update(Lease)
        .where(Lease.name == name, Lease.token == token)
        .values(renewed_at=now, expires_at=now + ttl)
        .execution_options(synchronize_session=False)
    )
    return now + ttl if getattr(done, "rowcount", 0) == 1 else None


def release(session: Session, name: str, token: str) -> bool:
    """Give the lease up; False if ``token`` did not hold it (it expired and was taken over)."""
    done = session.execute(
        delete(Lease)
        .where(Lease.name == name, Lease.token == token)
        .execution_options(synchronize_session=False)
    )
    return getattr(done, "rowcount", 0) == 1


def current(session: Session, name: str) -> LeaseState | None:
    """The lease ``name`` as it stands (expired or not), or None when nobody holds it."""
    row = session.scalars(
        select(Lease).where(Lease.name == name).execution_options(populate_existing=True)
    ).first()
    return None if row is None else _state(row, token="")
