"""The outbox as delivery uses it: every state change in its own short transaction.

Delivery needs each change committed on its own (a claim must be visible to other
deliverers before the message goes out). :class:`NoticeOutbox` runs the functions of
:mod:`registry.notices` (which take a session and never commit) each in one
``factory.begin()`` block: :func:`committed` turns such a function into a method with the
same parameters, so no signature is written twice. It satisfies the ``Outbox`` protocol of
:mod:`tasks.notify.ports`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from registry import notices
from registry.notices import CLAIM_LEASE, OutboxNotice

P = ParamSpec("P")
R = TypeVar("R")


class _HasSessions(Protocol):
    sessions: sessionmaker[Session]


def committed(
    fn: Callable[Concatenate[Session, P], R],
) -> Callable[Concatenate[_HasSessions, P], R]:
    """A method running ``fn(session, ...)`` in a transaction of its own, committed on return."""

    def method(self: _HasSessions, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self.sessions.begin() as session:
            return fn(session, *args, **kwargs)

    method.__name__ = fn.__name__
    method.__doc__ = f"{fn.__name__} of :mod:`registry.notices`, committed on return."
    return method


class NoticeOutbox:
    """The outbox as delivery uses it: each call is one short committed transaction.

    Args:
        sessions: A session factory (``registry.db.session_factory(engine)``).
    """

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    deliverable = committed(notices.deliverable)
    record_channel = committed(notices.record_channel)
    mark_sent = committed(notices.mark_sent)
    mark_failed = committed(notices.mark_failed)
    keep_pending = committed(notices.keep_pending)
    release = committed(notices.release_claim)
    thread_ts = committed(notices.first_thread_ts)
    cached_user_id = committed(notices.cached_user_id)
    cache_user_id = committed(notices.cache_user_id)

    def claim(
        self,
        notice_id: int,
        *,
        seen_claim: datetime | None,
        now: datetime,
        stale_after: timedelta = CLAIM_LEASE,
    ) -> OutboxNotice | None:
        """Claim a notice (:func:`registry.notices.claim_pending`) and return it as it is now.

        The fresh row matters: since the caller listed it, another deliverer may have tried
        and left a channel to check.
        """
        with self.sessions.begin() as session:
            token = notices.claim_pending(
                session, notice_id, seen_claim=seen_claim, now=now, stale_after=stale_after
            )
            return None if token is None else notices.get_notice(session, notice_id)
