"""The Slack outbox: repository functions over :class:`~registry.models.Notice`.

Functions take a ``Session`` and never commit; the caller owns the unit of work. Delivery
needs each state change committed on its own (a claim must be visible to other deliverers
before the message goes out), so :class:`registry.outbox.NoticeOutbox` wraps each call in
its own short transaction; it is what ``tasks.notify.delivery.deliver`` is given.

States of a notice (``status``)::

    pending ──claim──▶ sending ──▶ sent          Slack answered ok (``sent_at``)
     ▲ ▲                  │  └───▶ failed        permanent error, with the reason
     │ └──── release ─────┘          │           transient error: attempts + 1; a refused
     │                               │           token: the attempt is not counted
     └──────── requeue ──────────────┘           a person fixed the destination
                                                 (``relitigate notices retry``)

Claims, their fencing, every state change and the re-queue are :mod:`registry.notice_states`
(re-exported here). ``sent_at`` is set when Slack accepted a notice, and means nothing else. A
pending notice with ``channel_id`` set had an attempt that may have reached Slack (a 5xx, a
dropped connection, a crash): delivery checks that channel's history for the notice before
posting again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from registry.db import dialect_insert
from registry.models import (
    Notice,
    NoticeKind,
    NoticeStatus,
    SlackIdentity,
    Workload,
    notice_dedupe_key,
    utcnow,
)
from registry.notice_states import (
    CLAIM_LEASE,
    NoticeState,
    Requeued,
    claim_pending,
    keep_pending,
    mark_failed,
    mark_sent,
    record_channel,
    release_claim,
    requeue_failed,
    stale_claim,
    state_of,
)

__all__ = [
    "CLAIM_LEASE",
    "NoticeFilter",
    "NoticeState",
    "OutboxNotice",
    "Requeued",
    "cache_user_id",
    "cached_user_id",
    "claim_pending",
    "deliverable",
    "enqueue_notice",
    "first_thread_ts",
    "get_notice",
    "keep_pending",
    "list_notices",
    "mark_failed",
    "mark_sent",
    "record_channel",
    "release_claim",
    "requeue_failed",
]


NoticeFilter = Literal["pending", "sending", "sent", "failed", "unsent"]
"""What :func:`list_notices` can select: one state, or ``unsent`` (pending or sending)."""


@dataclass(frozen=True)
class OutboxNotice:
    """A notice as delivery sees it: the row plus the owner's destinations.

    Attributes:
        id: The notice id.
        workload_id: Its workload (None for a digest).
        workload: The workload's name (None for a digest).
        quarter: ``YYYYQn``.
        kind: ``retire`` | ``watch`` | ``inconclusive`` | ``digest``.
        state: ``pending`` | ``sending`` (claimed) | ``sent`` | ``failed``.
        destination: A fixed channel (platform notices); None means "the owner".
        payload: ``{"text", "blocks"}``.
        channel_id: Where it was (or may have been) posted.
        ts: Its message ts once sent.
        thread_ts: The thread it replied in, if any.
        attempts: Send attempts so far.
        last_error: The last failure's reason.
        claimed_at: When the current claim was taken (``sending`` only).
        owner_slack_user: The workload's owner Slack user id.
        owner_email: The workload's owner email.
        slack_channel: The workload's channel.
        created_at: When it was enqueued.
        sent_at: When Slack accepted it (``sent`` only).
        reply_channel: For a reply or reminder, the channel of the notice it answers.
        reply_ts: For a reply or reminder, that notice's ts: the thread it is posted in.
    """

    id: int
    workload_id: int | None
    workload: str | None
    quarter: str
    kind: str
    state: NoticeState
    destination: str | None
    payload: dict[str, Any]
    channel_id: str | None
    ts: str | None
    thread_ts: str | None
    attempts: int
    last_error: str | None
    claimed_at: datetime | None
    owner_slack_user: str | None
    owner_email: str | None
    slack_channel: str | None
    created_at: datetime
    sent_at: datetime | None
    reply_channel: str | None = None
    reply_ts: str | None = None

    @property
    def needs_check(self) -> bool:
        """An earlier attempt may have reached Slack: look in ``channel_id`` before posting."""
        return self.state in ("pending", "sending") and self.channel_id is not None


def _view(notice: Notice, workload: Workload | None, session: Session) -> OutboxNotice:
    state = state_of(notice.status)
    parent = session.get(Notice, notice.reply_to_id) if notice.reply_to_id else None
    return OutboxNotice(
        id=notice.id,
        workload_id=notice.workload_id,
        workload=workload.name if workload else None,
        quarter=notice.quarter,
        kind=str(notice.kind),
        state=state,
        destination=notice.destination,
        payload=dict(notice.payload or {}),
        channel_id=notice.channel_id,
        ts=notice.ts,
        thread_ts=notice.thread_ts,
        attempts=notice.attempts,
        last_error=notice.last_error,
        claimed_at=notice.claimed_at,
        owner_slack_user=workload.owner_slack_user if workload else None,
        owner_email=workload.owner_email if workload else None,
        slack_channel=workload.slack_channel if workload else None,
        created_at=notice.created_at,
        sent_at=notice.sent_at,
        reply_channel=parent.channel_id if parent else None,
        reply_ts=parent.ts if parent else None,
    )


def enqueue_notice(
    session: Session,
    *,
    decision_id: int | None,
    workload_id: int | None,
    quarter: str,
    kind: NoticeKind | str,
    destination: str | None,
    payload: dict[str, Any],
) -> Notice:
    """Add a notice to the outbox unless one exists for (workload, quarter, kind).

    Idempotent: a re-run of the same quarter leaves the first notice (and its payload and
    delivery state) as it was and returns it.
    """
    kind = NoticeKind(kind)
    key = notice_dedupe_key(workload_id, quarter, kind)
    values = {
        "dedupe_key": key,
        "decision_id": decision_id,
        "workload_id": workload_id,
        "quarter": quarter,
        "kind": kind,
        "status": NoticeStatus.PENDING,
        "destination": destination,
        "attempts": 0,
        "payload": payload,
        "created_at": utcnow(),
    }
    session.execute(dialect_insert(session)(Notice).values(**values).on_conflict_do_nothing())
    notice = session.scalars(select(Notice).where(Notice.dedupe_key == key)).one()
    return notice


def get_notice(session: Session, notice_id: int) -> OutboxNotice | None:
    """One notice, or None."""
    row = session.execute(
        select(Notice, Workload)
        .outerjoin(Workload, Workload.id == Notice.workload_id)
        .where(Notice.id == notice_id)
    ).first()
    return _view(row[0], row[1], session) if row else None


def _state_filter(status: NoticeFilter) -> ColumnElement[bool]:
    if status == "unsent":
        return Notice.status.in_([NoticeStatus.PENDING, NoticeStatus.SENDING])
    return Notice.status == NoticeStatus(status)


def list_notices(session: Session, status: NoticeFilter | None = None) -> list[OutboxNotice]:
    """Notices, oldest first; ``status`` filters (``unsent``: pending or sending)."""
    query = select(Notice, Workload).outerjoin(Workload, Workload.id == Notice.workload_id)
    if status is not None:
        query = query.where(_state_filter(status))
    rows = session.execute(query.order_by(Notice.created_at, Notice.id)).all()
    return [_view(n, w, session) for n, w in rows]


def deliverable(
    session: Session, *, now: datetime, stale_after: timedelta = CLAIM_LEASE
) -> list[OutboxNotice]:
    """Pending notices plus claims older than ``stale_after`` (their deliverer died)."""
    query = (
        select(Notice, Workload)
        .outerjoin(Workload, Workload.id == Notice.workload_id)
        .where(or_(Notice.status == NoticeStatus.PENDING, stale_claim(now, stale_after)))
        .order_by(Notice.created_at, Notice.id)
    )
    return [_view(n, w, session) for n, w in session.execute(query).all()]


def first_thread_ts(
    session: Session,
    workload_id: int,
    *,
    channel_id: str | None = None,
    quarter: str | None = None,
) -> str | None:
    """The thread a notice of ``workload_id`` replies in: the first top-level notice sent
    for it (in ``channel_id``), for ``quarter`` or an earlier one.

    A notice never replies in a newer quarter's thread: an older notice retried after a
    newer one went out finds no root and is posted top-level. Quarters are ``YYYYQn``, which
    sort as text.
    """
    query = select(Notice.ts).where(
        Notice.workload_id == workload_id,
        Notice.status == NoticeStatus.SENT,
        Notice.ts.is_not(None),
        Notice.thread_ts.is_(None),
    )
    if channel_id is not None:
        query = query.where(Notice.channel_id == channel_id)
    if quarter is not None:
        query = query.where(Notice.quarter <= quarter)
    return session.scalars(query.order_by(Notice.sent_at, Notice.id).limit(1)).first()


def cached_user_id(session: Session, email: str) -> str | None:
    """The Slack user id cached for ``email`` (case-insensitive), if any."""
    row = session.get(SlackIdentity, email.strip().lower())
    return row.user_id if row else None


def cache_user_id(session: Session, email: str, user_id: str, *, now: datetime) -> None:
    """Remember ``users.lookupByEmail``'s answer for ``email``."""
    key = email.strip().lower()
    row = session.get(SlackIdentity, key)
    if row is None:
        session.add(SlackIdentity(email=key, user_id=user_id, resolved_at=now))
    else:
        row.user_id = user_id
        row.resolved_at = now
