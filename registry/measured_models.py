"""The tables of measured facts and of proposals.

- ``measured_facts``: every fact read from production for a workload's decision (calls per
  day from a source, a production sample's drift), with its source (never a secret URL), when
  it was read, and why it could not be read when it could not. Appended at each decision, so
  the volume a workload was judged on is on record quarter by quarter.
- ``proposals``: workloads proposed before any fine-tune is built (``relitigate propose``),
  kept apart from production workloads: the proposal as written, the memo and the evidence.
  A proposal promoted to a workload keeps its row, pointing at the workload it became.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from registry.columns import Base, JSONType, TimestampMixin, UTCDateTime, utcnow


class MeasuredFact(Base):
    """One fact read from production for one workload's decision of one quarter."""

    __tablename__ = "measured_facts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workload_id: Mapped[int] = mapped_column(ForeignKey("workloads.id"), index=True)
    quarter: Mapped[str] = mapped_column(String(6))
    kind: Mapped[str] = mapped_column(String(40))
    """``volume`` or ``drift``."""
    value: Mapped[float | None] = mapped_column(Float)
    """Calls per day (volume), or the number of drift checks over threshold; None: unread."""
    source: Mapped[str] = mapped_column(String(600))
    """What was read, without secrets: ``csv /data/triage.csv (mean of 28 days)``."""
    read_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    error: Mapped[str | None] = mapped_column(Text)
    """Why the source could not be read (scrubbed of secrets)."""
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    """The whole reading (a drift comparison's every statistic)."""


class Proposal(TimestampMixin, Base):
    """A proposed workload checked against the decision frame before anything is built."""

    __tablename__ = "proposals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    case: Mapped[str] = mapped_column(String(40))
    spec: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    """The proposal as written (paths made absolute)."""
    recommendation: Mapped[str] = mapped_column(String(40))
    """``buy``, ``fine_tune`` or ``build``: what the memo recommends."""
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    """The checks, the head-to-head of every buy and prompt variant, the break-even volume."""
    memo: Mapped[str] = mapped_column(Text, default="")
    promoted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    workload_id: Mapped[int | None] = mapped_column(ForeignKey("workloads.id"))
    """The workload it was promoted to."""
