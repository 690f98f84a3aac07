"""The Slack outbox's tables: one notice per (workload, quarter, kind), and the identity cache.

Delivery (claims, retries, states) is :mod:`registry.notices`.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column

from registry.columns import Base, JSONType, UTCDateTime, str_enum, utcnow


class NoticeKind(enum.StrEnum):
    """What a Slack notice is about."""

    RETIRE = "retire"
    WATCH = "watch"
    INCONCLUSIVE = "inconclusive"
    DIGEST = "digest"
    REPLY = "reply"
    """An answer to an owner's action, in the notice's thread (``reply_to_id``)."""
    REMINDER = "reminder"
    """A ``retire`` nobody acknowledged, reminded in its thread (``reply_to_id``)."""
    ESCALATION = "escalation"
    """A ``retire`` still unacknowledged after its reminder, raised in the platform channel."""
    FLAG = "flag"
    """A disputed decision, flagged to the platform channel with its evidence."""


class NoticeStatus(enum.StrEnum):
    """Delivery state of a notice in the outbox.

    ``sending`` is a claim: one deliverer holds the notice since ``claimed_at``.
    """

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


def notice_dedupe_key(workload_id: int | None, quarter: str, kind: str) -> str:
    """The outbox's idempotency key: ``"{workload_id or '*'}:{quarter}:{kind}"``.

    Digests have no workload, so a plain unique (workload_id, quarter, kind) would not stop a
    second digest (NULLs never collide); this key does.
    """
    return f"{workload_id if workload_id is not None else '*'}:{quarter}:{kind}"


def _default_dedupe_key(context: DefaultExecutionContext) -> str:
    params: dict[str, Any] = context.get_current_parameters()  # type: ignore[no-untyped-call]
    return notice_dedupe_key(params.get("workload_id"), params["quarter"], str(params["kind"]))


NOTICE_STATUS_CHECK = "status IN ('pending', 'sending', 'sent', 'failed')"
"""The notice status values, enforced by the database (``ck_notices_status``)."""

NOTICE_CLAIM_CHECK = (
    "(status = 'sending' AND claimed_at IS NOT NULL) "
    "OR (status <> 'sending' AND claimed_at IS NULL)"
)
"""A notice has a claim time exactly while it is ``sending`` (``ck_notices_claim``)."""


class Notice(Base):
    """A Slack message in the outbox. One per (workload, quarter, kind); digests per quarter.

    ``dedupe_key`` defaults to :func:`notice_dedupe_key` of the row's workload, quarter and
    kind; upserts can use it as their conflict target.

    ``status`` is ``pending`` -> ``sending`` (claimed at ``claimed_at``) -> ``sent`` (Slack
    accepted it at ``sent_at``) or ``failed``; a transient failure puts it back to
    ``pending``. See :mod:`registry.notices`.
    """

    __tablename__ = "notices"
    __table_args__ = (
        UniqueConstraint("workload_id", "quarter", "kind"),
        CheckConstraint(NOTICE_STATUS_CHECK, name="status"),
        CheckConstraint(NOTICE_CLAIM_CHECK, name="claim"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True, default=_default_dedupe_key)
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"))
    workload_id: Mapped[int | None] = mapped_column(ForeignKey("workloads.id"))
    quarter: Mapped[str] = mapped_column(String(6))
    kind: Mapped[NoticeKind] = mapped_column(str_enum(NoticeKind, "notice_kind"))
    status: Mapped[NoticeStatus] = mapped_column(
        str_enum(NoticeStatus, "notice_status"), default=NoticeStatus.PENDING
    )
    destination: Mapped[str | None] = mapped_column(String(320))
    """Slack user id, email or channel, as configured for the workload."""
    channel_id: Mapped[str | None] = mapped_column(String(64))
    ts: Mapped[str | None] = mapped_column(String(64))
    thread_ts: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    """``{"text": str, "blocks": [...]}`` as sent to ``chat.postMessage``."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """When the current delivery claim was taken (``sending`` only): the claim's fencing token."""
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """When Slack accepted the message (``sent`` only)."""
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"))
    """The notice in whose thread this one is posted (replies and reminders)."""


class SlackIdentity(Base):
    """Cache of Slack ``users.lookupByEmail``."""

    __tablename__ = "slack_identities"

    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64))
    resolved_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
