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

A claim is one conditional UPDATE ``pending -> sending`` that sets ``claimed_at``: of two
deliverers exactly one wins. ``claimed_at`` is the claim's fencing token: every change after
the claim is conditional on ``status = 'sending'`` and on it, so a deliverer whose claim was
taken over (it stalled past the lease) cannot overwrite the new owner's outcome. A claim
older than the lease (:data:`CLAIM_LEASE` unless the caller says otherwise) belongs to a
deliverer that died; it is taken over by one conditional UPDATE on the claim time that was
seen, so exactly one deliverer takes over each stale claim. ``claimed_at`` is set exactly
while a notice is ``sending`` (a database check holds it); ``sent_at`` is set when Slack
accepted it, and means nothing else. A pending notice with ``channel_id`` set had an attempt
that may have reached Slack (a 5xx, a dropped connection, a crash): delivery checks that
channel's history for the notice before posting again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, or_, select, update
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

NoticeState = Literal["pending", "sending", "sent", "failed"]
"""A notice's delivery state (the ``status`` column's values)."""

NoticeFilter = Literal["pending", "sending", "sent", "failed", "unsent"]
"""What :func:`list_notices` can select: one state, or ``unsent`` (pending or sending)."""

CLAIM_LEASE = timedelta(minutes=10)
"""A claim older than this may be taken over (a send takes seconds)."""


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

    @property
    def needs_check(self) -> bool:
        """An earlier attempt may have reached Slack: look in ``channel_id`` before posting."""
        return self.state in ("pending", "sending") and self.channel_id is not None


_STATES: dict[NoticeStatus, NoticeState] = {
    NoticeStatus.PENDING: "pending",
    NoticeStatus.SENDING: "sending",
    NoticeStatus.SENT: "sent",
    NoticeStatus.FAILED: "failed",
}


def _view(notice: Notice, workload: Workload | None) -> OutboxNotice:
    state = _STATES[NoticeStatus(notice.status)]
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
    return _view(row[0], row[1]) if row else None


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
    return [_view(n, w) for n, w in rows]


def _stale(now: datetime, stale_after: timedelta) -> ColumnElement[bool]:
    return and_(Notice.status == NoticeStatus.SENDING, Notice.claimed_at <= now - stale_after)


def deliverable(
    session: Session, *, now: datetime, stale_after: timedelta = CLAIM_LEASE
) -> list[OutboxNotice]:
    """Pending notices plus claims older than ``stale_after`` (their deliverer died)."""
    query = (
        select(Notice, Workload)
        .outerjoin(Workload, Workload.id == Notice.workload_id)
        .where(or_(Notice.status == NoticeStatus.PENDING, _stale(now, stale_after)))
        .order_by(Notice.created_at, Notice.id)
    )
    return [_view(n, w) for n, w in session.execute(query).all()]


def claim_pending(
    session: Session,
    notice_id: int,
    *,
    seen_claim: datetime | None,
    now: datetime,
    stale_after: timedelta = CLAIM_LEASE,
) -> datetime | None:
    """Claim a notice for sending: one conditional UPDATE, so exactly one claimer wins.

    Args:
        notice_id: The notice.
        seen_claim: None to claim a pending notice; else the claim time of the stale
            ``sending`` notice the caller saw: it is taken over only if that claim is still
            in place (nobody took it over first, its owner did not finish) and older than
            ``stale_after``.
        now: The claim time, which is also the fencing token for later changes.
        stale_after: The lease: a younger claim is never taken over.

    Returns:
        The claim token (``now``), or None when another deliverer got it, its claim is still
        fresh, or it is no longer deliverable.
    """
    if seen_claim is None:
        claimable = Notice.status == NoticeStatus.PENDING
    else:
        claimable = and_(_stale(now, stale_after), Notice.claimed_at == seen_claim)
    result = session.execute(
        update(Notice)
        .where(Notice.id == notice_id, claimable)
        .values(status=NoticeStatus.SENDING, claimed_at=now, attempts=Notice.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return now if _rowcount(result) == 1 else None


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _fenced(notice_id: int, claim: datetime) -> ColumnElement[bool]:
    return and_(
        Notice.id == notice_id,
        Notice.status == NoticeStatus.SENDING,
        Notice.claimed_at == claim,
    )


def record_channel(session: Session, notice_id: int, *, claim: datetime, channel_id: str) -> bool:
    """Record where a claimed notice is about to be posted (before posting)."""
    result = session.execute(
        update(Notice)
        .where(_fenced(notice_id, claim))
        .values(channel_id=channel_id)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


def mark_sent(
    session: Session,
    notice_id: int,
    *,
    claim: datetime,
    channel_id: str,
    ts: str,
    thread_ts: str | None,
    now: datetime,
) -> bool:
    """Record that Slack accepted the notice. False if the claim was lost."""
    result = session.execute(
        update(Notice)
        .where(_fenced(notice_id, claim))
        .values(
            status=NoticeStatus.SENT,
            claimed_at=None,
            channel_id=channel_id,
            ts=ts,
            thread_ts=thread_ts,
            sent_at=now,
            last_error=None,
        )
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


def mark_failed(session: Session, notice_id: int, *, claim: datetime, reason: str) -> bool:
    """Record a permanent failure with its reason. False if the claim was lost."""
    result = session.execute(
        update(Notice)
        .where(_fenced(notice_id, claim))
        .values(status=NoticeStatus.FAILED, claimed_at=None, last_error=reason)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


def keep_pending(
    session: Session, notice_id: int, *, claim: datetime, error: str, maybe_delivered: bool
) -> bool:
    """Release a claim after a transient failure; the next delivery tries again.

    Args:
        error: Why this attempt failed.
        maybe_delivered: The attempt may have reached Slack: keep ``channel_id`` so the next
            delivery checks that channel before posting. Otherwise the channel is cleared:
            this attempt did not post, and delivery had already checked the channel an
            earlier attempt left before it claimed this one.
    """
    values: dict[str, Any] = {
        "status": NoticeStatus.PENDING,
        "claimed_at": None,
        "last_error": error,
    }
    if not maybe_delivered:
        values["channel_id"] = None
    result = session.execute(
        update(Notice)
        .where(_fenced(notice_id, claim))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


def release_claim(
    session: Session, notice_id: int, *, claim: datetime, error: str, keep_channel: bool
) -> bool:
    """Give a claim back without counting the attempt: Slack refused the token, which is
    not the notice's fault. The notice is pending again, as it was before the claim.

    Args:
        error: Why (the credential error's one line), kept as ``last_error``.
        keep_channel: An earlier attempt that may have reached Slack is still unchecked:
            keep ``channel_id`` so the next delivery looks there first. Otherwise it is
            cleared (Slack refused this attempt's calls, so it posted nothing).

    Returns:
        False if the claim was lost.
    """
    values: dict[str, Any] = {
        "status": NoticeStatus.PENDING,
        "claimed_at": None,
        "last_error": error,
        "attempts": Notice.attempts - 1,  # the claim counted it
    }
    if not keep_channel:
        values["channel_id"] = None
    result = session.execute(
        update(Notice)
        .where(_fenced(notice_id, claim))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


@dataclass(frozen=True)
class Requeued:
    """What :func:`requeue_failed` did.

    Attributes:
        requeued: Notices put back to pending, in id order.
        not_failed: Notices named that were not failed (``id -> state``); left as they are.
        unknown: Ids named that no notice has; nothing was changed when there are any.
    """

    requeued: tuple[int, ...]
    not_failed: dict[int, NoticeState]
    unknown: tuple[int, ...]


def requeue_failed(session: Session, notice_ids: Sequence[int] | None = None) -> Requeued:
    """Put failed notices back to pending, so the next delivery sends them.

    A person does this after fixing what the failure's reason names (the channel, the
    owner). The notice is sent as new: its recorded channel is cleared, so delivery resolves
    the destination again and does not look for an earlier attempt (a failed attempt posted
    nothing, and a notice failed because its history could not be checked is retried only
    after someone looked, as its reason asks). ``last_error`` stays until it is sent.

    Args:
        notice_ids: The notices to re-queue; None for every failed notice.

    Returns:
        What was re-queued. With unknown ids nothing is changed.
    """
    wanted = None if notice_ids is None else sorted(set(notice_ids))
    query = select(Notice.id, Notice.status)
    if wanted is not None:
        query = query.where(Notice.id.in_(wanted))
    else:
        query = query.where(Notice.status == NoticeStatus.FAILED)
    states = {row.id: _STATES[NoticeStatus(row.status)] for row in session.execute(query)}
    unknown = tuple(i for i in (wanted or ()) if i not in states)
    not_failed: dict[int, NoticeState] = {i: st for i, st in states.items() if st != "failed"}
    failed = [i for i, state in states.items() if state == "failed"]
    if unknown or not failed:
        return Requeued((), not_failed, unknown)
    result = session.execute(
        update(Notice)
        .where(Notice.id.in_(failed), Notice.status == NoticeStatus.FAILED)
        .values(status=NoticeStatus.PENDING, claimed_at=None, channel_id=None)
        .returning(Notice.id)
        .execution_options(synchronize_session=False)
    )
    return Requeued(tuple(sorted(result.scalars().all())), not_failed, ())


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
