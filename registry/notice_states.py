"""A notice's states and the changes between them: claim, sent, failed, pending, re-queued.

A claim is one conditional UPDATE ``pending -> sending`` that sets ``claimed_at``: of two
deliverers exactly one wins. ``claimed_at`` is the claim's fencing token: every change after
the claim is conditional on ``status = 'sending'`` and on it (:func:`_fenced_update`), so a
deliverer whose claim was taken over (it stalled past the lease) cannot overwrite the new
owner's outcome. A claim older than the lease (:data:`CLAIM_LEASE` unless the caller says
otherwise) belongs to a deliverer that died; it is taken over by one conditional UPDATE on
the claim time that was seen, so exactly one deliverer takes over each stale claim.
``claimed_at`` is set exactly while a notice is ``sending`` (a database check holds it).
Functions take a ``Session`` and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.orm import Session

from registry.models import Notice, NoticeStatus

NoticeState = Literal["pending", "sending", "sent", "failed"]
"""A notice's delivery state (the ``status`` column's values)."""

_STATES: dict[NoticeStatus, NoticeState] = {
    NoticeStatus.PENDING: "pending",
    NoticeStatus.SENDING: "sending",
    NoticeStatus.SENT: "sent",
    NoticeStatus.FAILED: "failed",
}


def state_of(status: NoticeStatus | str) -> NoticeState:
    """The state a ``status`` column value stands for."""
    return _STATES[NoticeStatus(status)]


CLAIM_LEASE = timedelta(minutes=10)
"""A claim older than this may be taken over (a send takes seconds)."""


def stale_claim(now: datetime, stale_after: timedelta) -> ColumnElement[bool]:
    """Notices claimed longer than ``stale_after`` ago (their deliverer died)."""
    return and_(Notice.status == NoticeStatus.SENDING, Notice.claimed_at <= now - stale_after)


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
        claimable = and_(stale_claim(now, stale_after), Notice.claimed_at == seen_claim)
    result = session.execute(
        update(Notice)
        .where(Notice.id == notice_id, claimable)
        .values(status=NoticeStatus.SENDING, claimed_at=now, attempts=Notice.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return now if _rowcount(result) == 1 else None


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _fenced_update(session: Session, notice_id: int, claim: datetime, **values: Any) -> bool:
    """Apply ``values`` to the notice while ``claim`` still holds it; False if it was lost."""
    result = session.execute(
        update(Notice)
        .where(
            Notice.id == notice_id,
            Notice.status == NoticeStatus.SENDING,
            Notice.claimed_at == claim,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


def record_channel(session: Session, notice_id: int, *, claim: datetime, channel_id: str) -> bool:
    """Record where a claimed notice is about to be posted (before posting)."""
    return _fenced_update(session, notice_id, claim, channel_id=channel_id)


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
    return _fenced_update(
        session, notice_id, claim, status=NoticeStatus.SENT, claimed_at=None,
        channel_id=channel_id, ts=ts, thread_ts=thread_ts, sent_at=now, last_error=None,
    )  # fmt: skip


def mark_failed(session: Session, notice_id: int, *, claim: datetime, reason: str) -> bool:
    """Record a permanent failure with its reason. False if the claim was lost."""
    return _fenced_update(
        session, notice_id, claim, status=NoticeStatus.FAILED, claimed_at=None, last_error=reason
    )


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
    cleared = {} if maybe_delivered else {"channel_id": None}
    return _fenced_update(
        session, notice_id, claim, status=NoticeStatus.PENDING, claimed_at=None,
        last_error=error, **cleared,
    )  # fmt: skip


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
    cleared = {} if keep_channel else {"channel_id": None}
    return _fenced_update(
        session, notice_id, claim, status=NoticeStatus.PENDING, claimed_at=None,
        last_error=error, attempts=Notice.attempts - 1, **cleared,  # the claim counted it
    )  # fmt: skip


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
    states = {row.id: state_of(row.status) for row in session.execute(query)}
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
