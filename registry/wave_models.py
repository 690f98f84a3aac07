"""The ``sequential_evaluations`` table: one quarter's waves for one workload and attempt.

Written before the first wave is called (with the seed that orders the items), updated after
every wave's look. A re-run after a kill reads the seed back, so it calls the same waves and
resumes the unfinished one without paying again for what was answered; ``run --force``
walks the waves again from the stored results (:mod:`registry.waves`, :mod:`tasks.waves`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from registry.columns import Base, JSONType, TimestampMixin


class SequentialEvaluation(TimestampMixin, Base):
    """One workload's waves for one quarter and benchmark attempt."""

    __tablename__ = "sequential_evaluations"
    __table_args__ = (UniqueConstraint("workload_id", "quarter", "attempt"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workload_id: Mapped[int] = mapped_column(ForeignKey("workloads.id"), index=True)
    quarter: Mapped[str] = mapped_column(String(6))
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    seed: Mapped[int] = mapped_column(Integer)
    """Orders the eval items; the waves are prefixes of that order."""
    spending: Mapped[str] = mapped_column(String(32))
    """The alpha-spending function of the looks (``obrien_fleming``)."""
    wave_sizes: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    """Items answered after each wave, cumulative (the last is the whole set)."""
    waves_done: Mapped[int] = mapped_column(Integer, default=0)
    stopped_at_wave: Mapped[int | None] = mapped_column(Integer)
    """The wave after which a settled verdict stopped the frontier calls; NULL: none."""
    state: Mapped[str] = mapped_column(String(16), default="running")
    """``running`` (waves left), ``stopped`` (settled early) or ``ended`` (whole set)."""
    reason: Mapped[str | None] = mapped_column(Text)
    """Why the last look stopped or went on."""
    looks: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    """Every look taken: wave, items, verdict, levels, step."""
    items_total: Mapped[int] = mapped_column(Integer)
    items_used: Mapped[int] = mapped_column(Integer, default=0)
    """Paired items the last look (the decision) rests on."""
    buy_items: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    """Items each buy alternative was called on (answered or errored)."""
    buy_spend_usd: Mapped[float] = mapped_column(Float, default=0.0)
    saved_usd: Mapped[float] = mapped_column(Float, default=0.0)
    """Estimated frontier spend avoided against a full run."""
