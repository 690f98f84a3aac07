"""What one delivery did: each notice's outcome, recorded in the outbox and logged.

:func:`record_sent` and :func:`record_error` write an attempt's outcome through the claim
that holds the notice (:class:`~tasks.notify.ports.Outbox`); :class:`DeliveryReport` is what
:func:`tasks.notify.delivery.deliver` returns.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from tasks.notify.errors import SlackError
from tasks.notify.ports import Outbox, PostedMessage

logger = logging.getLogger("tasks.notify.delivery")

NOT_TRIED = "not tried: delivery stopped"


Result = Literal["sent", "failed", "pending", "skipped"]


@dataclass(frozen=True)
class Outcome:
    """What happened to one notice in one delivery.

    Attributes:
        notice_id: The notice.
        result: ``sent`` | ``failed`` (permanent) | ``pending`` (retry later) | ``skipped``
            (another deliverer holds it).
        detail: The reason, for anything but ``sent``; how it was sent otherwise.
        channel_id: Where it landed, when sent.
        ts: Its message ts, when sent.
    """

    notice_id: int
    result: Result
    detail: str = ""
    channel_id: str | None = None
    ts: str | None = None


@dataclass(frozen=True)
class DeliveryReport:
    """One delivery's outcomes.

    Attributes:
        outcomes: One per notice that was due, in order.
        stopped: Why the pass stopped early (Slack refused the token), as one line that
            says what to fix; None when every due notice was tried.
    """

    outcomes: tuple[Outcome, ...]
    stopped: str | None = None

    def count(self, result: Result) -> int:
        """How many notices ended with ``result``."""
        return sum(1 for o in self.outcomes if o.result == result)

    def summary(self) -> str:
        """``sent 2, failed 1, still pending 0, skipped 0``."""
        return (
            f"sent {self.count('sent')}, failed {self.count('failed')}, "
            f"still pending {self.count('pending')}, skipped {self.count('skipped')}"
        )


def record_sent(
    outbox: Outbox,
    notice_id: int,
    claim: datetime,
    posted: PostedMessage,
    *,
    thread_ts: str | None,
    now: Callable[[], datetime],
) -> None:
    """Record that Slack has the notice; a lost claim is only logged (the new owner finds
    the message by its metadata)."""
    ok = outbox.mark_sent(
        notice_id,
        claim=claim,
        channel_id=posted.channel_id,
        ts=posted.ts,
        thread_ts=thread_ts,
        now=now(),
    )
    if not ok:
        logger.warning(
            "notice %s was posted (%s %s) but its claim had been taken over; the new "
            "owner finds it by its metadata",
            notice_id,
            posted.channel_id,
            posted.ts,
        )


def record_error(
    outbox: Outbox, notice_id: int, claim: datetime, exc: SlackError, *, stage: str
) -> Outcome:
    """Record a Slack error at ``stage``: pending again if transient, else failed."""
    if exc.transient:
        outbox.keep_pending(
            notice_id, claim=claim, error=str(exc), maybe_delivered=exc.maybe_delivered
        )
        return logged(Outcome(notice_id, "pending", f"{stage}: {exc}"))
    outbox.mark_failed(notice_id, claim=claim, reason=str(exc))
    return logged(Outcome(notice_id, "failed", f"{stage}: {exc}"))


def logged(outcome: Outcome) -> Outcome:
    """Log one notice's outcome (a warning unless it was sent) and return it."""
    level = logging.INFO if outcome.result == "sent" else logging.WARNING
    logger.log(level, "notice %s %s: %s", outcome.notice_id, outcome.result, outcome.detail)
    return outcome
