"""What owners did about a notice, from its Slack buttons: one row per handled click."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from registry.columns import Base, UTCDateTime, str_enum, utcnow


class NoticeActionKind(enum.StrEnum):
    """A button on a notice."""

    ACKNOWLEDGE = "acknowledge"
    SNOOZE = "snooze"
    RERUN = "rerun"
    DISPUTE = "dispute"
    DONE = "done"


class NoticeAction(Base):
    """One owner action on one notice: who, when, which, and their note.

    ``delivery_key`` (the Slack payload's ``action_ts`` or view id, plus the user) is unique,
    so a click Slack delivers twice is recorded once.
    """

    __tablename__ = "notice_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_key: Mapped[str] = mapped_column(String(300), unique=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), index=True)
    workload_id: Mapped[int | None] = mapped_column(ForeignKey("workloads.id"))
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"))
    action: Mapped[NoticeActionKind] = mapped_column(str_enum(NoticeActionKind, "notice_action"))
    slack_user: Mapped[str] = mapped_column(String(64))
    """The Slack user id who clicked."""
    note: Mapped[str] = mapped_column(Text, default="")
    """The user's note (a dispute's reason)."""
    snoozed_until: Mapped[str | None] = mapped_column(String(6))
    """The quarter a snooze lasts until (``snooze`` only)."""
    acted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
