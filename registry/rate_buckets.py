"""Shared token buckets: one provider budget taken from by every process, atomically.

A bucket is one row of ``rate_buckets`` (:class:`~registry.models.RateBucket`). Taking from it
is one conditional ``UPDATE``: the level is brought up to date (refilled at ``per_second``
since ``stamp``, at most ``capacity``) and lowered by the amount, only where the refilled level
covers the amount. On PostgreSQL the row is locked while the statement runs and its condition
is checked again on the row as the previous taker left it, so of two processes asking at once
each sees the other's take; on SQLite every transaction starts with ``BEGIN IMMEDIATE`` (see
:mod:`registry.db`), which serialises them. A refused take reads the row once more to say how
long to wait.

Times come from the database server's clock on PostgreSQL (processes on different machines
agree) and from this machine's clock on SQLite. Functions take a ``Session`` and never commit:
keep the transaction short.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import ColumnElement, Float, case, cast, func, literal, select, update
from sqlalchemy.orm import Session

from registry.db import dialect_insert
from registry.errors import InvalidValueError, NotFoundError
from registry.models import RateBucket


def _now(session: Session) -> ColumnElement[float]:
    """Seconds since the epoch, from the database server where it has a clock."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.extract("epoch", func.clock_timestamp()), Float)
    return literal(time.time())


def _refilled(now: ColumnElement[Any]) -> ColumnElement[float]:
    """The bucket's level brought up to ``now`` (a clock behind ``stamp`` adds nothing)."""
    elapsed = case((now > RateBucket.stamp, now - RateBucket.stamp), else_=0.0)
    level = RateBucket.level + elapsed * RateBucket.per_second
    return case((level > RateBucket.capacity, RateBucket.capacity), else_=level)


def ensure_bucket(session: Session, name: str, *, per_second: float, capacity: float) -> None:
    """Create the bucket full, or set a present one's rate and capacity (its level stays)."""
    if not (per_second > 0 and capacity >= 1):
        raise InvalidValueError(
            f"rate bucket {name!r} needs a positive rate and a capacity of at least 1, got "
            f"{per_second!r}/s and {capacity!r}"
        )
    now = session.scalar(select(_now(session)))
    stmt = dialect_insert(session)(RateBucket).values(
        name=name, per_second=per_second, capacity=capacity, level=capacity, stamp=now
    )
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["name"],
            set_={"per_second": stmt.excluded.per_second, "capacity": stmt.excluded.capacity},
        )
    )


def take(session: Session, name: str, amount: float) -> float:
    """Take ``amount`` (at most the capacity) now if the bucket holds it.

    Returns:
        0.0 when taken; else the seconds until the bucket will hold it (nothing is taken).

    Raises:
        NotFoundError: no bucket ``name`` (create it with :func:`ensure_bucket`).
    """
    now = _now(session)
    need = _clamped(amount)
    done = session.execute(
        update(RateBucket)
        .where(RateBucket.name == name, _refilled(now) >= need)
        .values(level=_refilled(now) - need, stamp=_latest(now))
        .execution_options(synchronize_session=False)
    )
    if getattr(done, "rowcount", 0) == 1:
        return 0.0
    row = session.execute(
        select(_refilled(now), RateBucket.per_second, RateBucket.capacity).where(
            RateBucket.name == name
        )
    ).first()
    if row is None:
        raise NotFoundError(f"no rate bucket {name!r}; create it first (ensure_bucket)")
    level, per_second, capacity = (float(v) for v in row)
    return max(1e-3, (min(amount, capacity) - level) / per_second)


def charge(session: Session, name: str, amount: float) -> None:
    """Take ``amount`` whatever the level (a negative level is a debt later takes wait out);
    a negative amount gives back. Tokens learned after a call are charged so."""
    now = _now(session)
    session.execute(
        update(RateBucket)
        .where(RateBucket.name == name)
        .values(level=_refilled(now) - amount, stamp=_latest(now))
        .execution_options(synchronize_session=False)
    )


def level(session: Session, name: str) -> float | None:
    """The bucket's level now; None when there is no such bucket."""
    value = session.scalar(select(_refilled(_now(session))).where(RateBucket.name == name))
    return None if value is None else float(value)


def _clamped(amount: float) -> ColumnElement[float]:
    return case((RateBucket.capacity < amount, RateBucket.capacity), else_=literal(float(amount)))


def _latest(now: ColumnElement[Any]) -> ColumnElement[float]:
    return case((now > RateBucket.stamp, now), else_=RateBucket.stamp)
