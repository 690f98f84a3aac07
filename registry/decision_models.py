"""The decisions' tables: one verdict per workload and quarter, and the ones it replaced."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.columns import Base, JSONType, TimestampMixin, UTCDateTime, str_enum, utcnow
from vocabulary import Verdict

if TYPE_CHECKING:
    from registry.models import Workload


class DecisionEvidence:
    """The columns a decision and each of its replaced revisions both hold."""

    verdict: Mapped[Verdict] = mapped_column(str_enum(Verdict, "verdict"))
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    gates: Mapped[Any] = mapped_column(JSONType, default=list)
    trend: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    reproducibility: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    memo: Mapped[str] = mapped_column(Text, default="")
    fine_tune_run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    buy_run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))


class Decision(DecisionEvidence, TimestampMixin, Base):
    """One workload's verdict for one quarter, with the evidence behind it."""

    __tablename__ = "decisions"
    __table_args__ = (UniqueConstraint("workload_id", "quarter"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workload_id: Mapped[int] = mapped_column(ForeignKey("workloads.id"))
    quarter: Mapped[str] = mapped_column(String(6))
    next_review: Mapped[date | None] = mapped_column(Date)
    attempt: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    """The benchmark attempt (``Run.attempt``) the decision was taken on."""
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    """1 for the first decision of the quarter, + 1 each time it is replaced (the one it
    replaced is kept in ``decision_revisions``)."""

    workload: Mapped[Workload] = relationship()


class DecisionRevision(DecisionEvidence, Base):
    """A decision as it stood before it was replaced (``--force``, ``--fresh``, or a retry of
    an ``inconclusive`` quarter): the quarter's earlier verdicts stay on record."""

    __tablename__ = "decision_revisions"
    __table_args__ = (UniqueConstraint("decision_id", "revision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"))
    revision: Mapped[int] = mapped_column(Integer)
    attempt: Mapped[int] = mapped_column(Integer)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime())
    superseded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    superseded_because: Mapped[str] = mapped_column(String(200))
    """``force``, ``fresh attempt N`` or ``retry pass``: why it was replaced."""
