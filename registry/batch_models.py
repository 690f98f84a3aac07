"""The ``frontier_batches`` table: provider batch jobs a run's items went out in.

One row per batch the engine meant to submit, written *before* the provider is asked for
anything, with a random ``client_key`` that travels with the batch (its metadata) and the item
keys it covers. The provider's ids are filled in as they come back, so a process killed at any
point leaves a row that says what it was doing: a re-run polls a stored ``batch_id``, or finds
the batch by its ``client_key`` at the provider before it would submit again
(:mod:`registry.batches`, :mod:`tasks.batch_ledger`).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from registry.columns import Base, JSONType, TimestampMixin, UTCDateTime, str_enum


class BatchStatus(enum.StrEnum):
    """Where a batch stands on our side.

    ``preparing``: recorded, the provider may or may not hold it (no ``batch_id`` yet);
    ``submitted``: the provider holds it under ``batch_id``; ``collected``: its results (and
    errors) were written to the run's checkpoints.
    """

    PREPARING = "preparing"
    SUBMITTED = "submitted"
    COLLECTED = "collected"


class FrontierBatch(TimestampMixin, Base):
    """One provider batch of one run's items."""

    __tablename__ = "frontier_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    client_key: Mapped[str] = mapped_column(String(64), unique=True)
    """Ours, random, sent as the batch's metadata: finds the batch at the provider when a
    kill came between its creation and the storing of its id."""
    item_keys: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    """The eval-item keys the batch covers (its lines' ``custom_id``)."""
    status: Mapped[BatchStatus] = mapped_column(
        str_enum(BatchStatus, "batch_status"), default=BatchStatus.PREPARING
    )
    provider: Mapped[str] = mapped_column(String(64))
    """litellm's provider name of the route (``openai``)."""
    input_file_id: Mapped[str | None] = mapped_column(String(200))
    batch_id: Mapped[str | None] = mapped_column(String(200))
    provider_status: Mapped[str | None] = mapped_column(String(32))
    """The provider's last reported status (``validating``, ``in_progress``, ``completed``,
    ``failed``, ``expired``, ``cancelled``...)."""
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    collected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
