"""The buy catalog's tables: its entries, declared deprecation dates and trigger causes.

- ``catalog_entries``: one row per catalog entry ever synced (archived when it leaves the
  file), with the price and deprecation date resolved at sync and the workloads it
  challenges. A row that is new at a sync is a "catalog entry added" cause.
- ``route_deprecations``: the deprecation date of every route the workloads file names
  (declared in the file, else litellm's price map), as of the last sync.
- ``trigger_causes``: why a workload should be re-litigated before its quarterly run (a new
  eval-set version, a replaced fine-tune, a catalog entry added, a deprecation entering the
  horizon). Unique per (workload, cause): a cause is recorded once and consumed once, so a
  trigger never re-decides a quarter twice for the same cause (:mod:`registry.catalog_triggers`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from registry.columns import Base, JSONType, TimestampMixin, UTCDateTime, utcnow


class CatalogEntryRow(TimestampMixin, Base):
    """One catalog entry as last synced."""

    __tablename__ = "catalog_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    route: Mapped[str] = mapped_column(String(500))
    provider: Mapped[str] = mapped_column(String(200))
    tags: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    input_per_mtok: Mapped[float | None] = mapped_column(Float)
    output_per_mtok: Mapped[float | None] = mapped_column(Float)
    price_source: Mapped[str] = mapped_column(String(20), default="unknown")
    """``declared``, ``litellm`` or ``unknown``."""
    deprecation_date: Mapped[date | None] = mapped_column(Date)
    deprecation_source: Mapped[str | None] = mapped_column(String(20))
    challenges: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    """Names of the workloads that pick it (as of the last sync)."""
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RouteDeprecation(Base):
    """The deprecation date of a route the workloads file names, as of the last sync."""

    __tablename__ = "route_deprecations"

    route: Mapped[str] = mapped_column(String(500), primary_key=True)
    deprecation_date: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(20))
    """``declared`` (the file's ``deprecations.routes`` or a catalog entry) or ``litellm``."""


class TriggerCause(Base):
    """One reason to re-litigate a workload now, and whether a run took it."""

    __tablename__ = "trigger_causes"
    __table_args__ = (UniqueConstraint("workload_id", "cause"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workload_id: Mapped[int] = mapped_column(ForeignKey("workloads.id"), index=True)
    cause: Mapped[str] = mapped_column(String(600))
    """The cause's key, e.g. ``catalog:cheap-frontier`` or ``eval_set:triage@3``."""
    kind: Mapped[str] = mapped_column(String(40))
    """``eval_set``, ``fine_tune``, ``catalog`` or ``deprecation``."""
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claim_token: Mapped[str | None] = mapped_column(String(64))
    quarter: Mapped[str | None] = mapped_column(String(6))
    """The quarter the run that took the cause re-decided."""
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
