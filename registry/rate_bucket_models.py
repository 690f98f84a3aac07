"""The ``rate_buckets`` table: provider request and token budgets shared by every process.

One row per bucket (a provider key's requests per minute, or its tokens per minute), refilled
at ``per_second`` up to ``capacity``. Every process that calls the provider takes from the same
row (:mod:`registry.rate_buckets`), so their calls together stay under the account's limit.
Used where no Prefect server holds the limits instead (see :mod:`tasks.rate_limits`).
"""

from __future__ import annotations

from sqlalchemy import Float, String
from sqlalchemy.orm import Mapped, mapped_column

from registry.columns import Base


class RateBucket(Base):
    """One shared token bucket."""

    __tablename__ = "rate_buckets"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    """E.g. ``rpm:127-0-0-1-8000-v1-openai-api-key-1a2b3c4d`` (never a key itself)."""
    per_second: Mapped[float] = mapped_column(Float)
    """Refill rate: the budget per minute / 60."""
    capacity: Mapped[float] = mapped_column(Float)
    """The most the bucket holds (the largest burst)."""
    level: Mapped[float] = mapped_column(Float)
    """What it held at ``stamp``; negative: a debt (tokens learned after a call)."""
    stamp: Mapped[float] = mapped_column(Float)
    """When ``level`` was last brought up to date, in seconds since the epoch (the database
    server's clock on PostgreSQL, this machine's on SQLite)."""
