"""The outbox as delivery uses it: every state change in its own short transaction.

Delivery needs each change committed on its own (a claim must be visible to other
deliverers before the message goes out), so :class:`NoticeOutbox` wraps each function of
:mod:`registry.notices` in one ``factory.begin()`` block. It satisfies the ``Outbox``
protocol of :mod:`tasks.notify.ports`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from registry.notices import (
    CLAIM_LEASE,
    OutboxNotice,
    cache_user_id,
    cached_user_id,
    claim_pending,
    deliverable,
    first_thread_ts,
    get_notice,
    keep_pending,
    mark_failed,
    mark_sent,
    record_channel,
    release_claim,
)


class NoticeOutbox:
    """The outbox as delivery uses it: each call is one short committed transaction.

    Args:
        factory: A session factory (``registry.db.session_factory(engine)``).
    """

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._factory = factory

    def deliverable(
        self, *, now: datetime, stale_after: timedelta = CLAIM_LEASE
    ) -> Sequence[OutboxNotice]:
        """See :func:`deliverable`."""
        with self._factory.begin() as session:
            return deliverable(session, now=now, stale_after=stale_after)

    def claim(
        self,
        notice_id: int,
        *,
        seen_claim: datetime | None,
        now: datetime,
        stale_after: timedelta = CLAIM_LEASE,
    ) -> OutboxNotice | None:
        """Claim a notice (see :func:`claim_pending`) and return it as it is now.

        The fresh row matters: since the caller listed it, another deliverer may have tried
        and left a channel to check.
        """
        with self._factory.begin() as session:
            token = claim_pending(
                session, notice_id, seen_claim=seen_claim, now=now, stale_after=stale_after
            )
            if token is None:
                return None
            return get_notice(session, notice_id)

    def record_channel(self, notice_id: int, *, claim: datetime, channel_id: str) -> bool:
        """See :func:`record_channel`."""
        with self._factory.begin() as session:
            return record_channel(session, notice_id, claim=claim, channel_id=channel_id)

    def mark_sent(
        self,
        notice_id: int,
        *,
        claim: datetime,
        channel_id: str,
        ts: str,
        thread_ts: str | None,
        now: datetime,
    ) -> bool:
        """See :func:`mark_sent`."""
        with self._factory.begin() as session:
            return mark_sent(
                session,
                notice_id,
                claim=claim,
                channel_id=channel_id,
                ts=ts,
                thread_ts=thread_ts,
                now=now,
            )

    def mark_failed(self, notice_id: int, *, claim: datetime, reason: str) -> bool:
        """See :func:`mark_failed`."""
        with self._factory.begin() as session:
            return mark_failed(session, notice_id, claim=claim, reason=reason)

    def keep_pending(
        self, notice_id: int, *, claim: datetime, error: str, maybe_delivered: bool
    ) -> bool:
        """See :func:`keep_pending`."""
        with self._factory.begin() as session:
            return keep_pending(
                session, notice_id, claim=claim, error=error, maybe_delivered=maybe_delivered
            )

    def release(self, notice_id: int, *, claim: datetime, error: str, keep_channel: bool) -> bool:
        """See :func:`release_claim`."""
        with self._factory.begin() as session:
            return release_claim(
                session, notice_id, claim=claim, error=error, keep_channel=keep_channel
            )

    def thread_ts(self, workload_id: int, *, channel_id: str, quarter: str) -> str | None:
        """See :func:`first_thread_ts`."""
        with self._factory.begin() as session:
            return first_thread_ts(session, workload_id, channel_id=channel_id, quarter=quarter)

    def cached_user_id(self, email: str) -> str | None:
        """See :func:`cached_user_id`."""
        with self._factory.begin() as session:
            return cached_user_id(session, email)

    def cache_user_id(self, email: str, user_id: str, *, now: datetime) -> None:
        """See :func:`cache_user_id`."""
        with self._factory.begin() as session:
            cache_user_id(session, email, user_id, now=now)
