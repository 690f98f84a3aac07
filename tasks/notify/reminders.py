"""Reminders and escalations for ``retire`` notices nobody acted on. Pure: data in, plans out.

A ``retire`` notice still ``open`` (no acknowledge, dispute or done) ``remind_after`` after
it was sent gets one reminder in its thread; ``escalate_after`` after that reminder, still
open, it is escalated to the platform channel. Each is an outbox follow-up under a key of its
own, so however often this runs, each is sent once. Time is passed in (``now``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from tasks.notify.message import escape


class OpenNotice(Protocol):
    """A sent owner notice and where it stands (``registry.notice_actions.OpenDecision``)."""

    @property
    def notice_id(self) -> int: ...
    @property
    def workload(self) -> str | None: ...
    @property
    def quarter(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def sent_at(self) -> datetime: ...
    @property
    def state(self) -> str: ...
    @property
    def reminded_at(self) -> datetime | None: ...
    @property
    def escalated_at(self) -> datetime | None: ...


@dataclass(frozen=True)
class DueFollowUp:
    """A reminder or an escalation to enqueue now.

    Attributes:
        notice_id: The notice it is about.
        step: ``reminder`` (in the notice's thread) or ``escalation`` (platform channel).
        quarter: The notice's quarter.
        payload: ``{"text", "blocks"}``.
        destination: The platform channel, for an escalation.
    """

    notice_id: int
    step: Literal["reminder", "escalation"]
    quarter: str
    payload: dict[str, Any]
    destination: str | None = None


def _payload(text: str) -> dict[str, Any]:
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def _days(delta: timedelta) -> str:
    days = delta.total_seconds() / 86400
    return f"{days:.0f} day{'s' if round(days) != 1 else ''}"


def due_followups(
    notices: Iterable[OpenNotice],
    *,
    now: datetime,
    remind_after: timedelta,
    escalate_after: timedelta,
    platform_channel: str | None,
) -> list[DueFollowUp]:
    """The reminders and escalations due at ``now`` (none without a platform channel for
    an escalation)."""
    due: list[DueFollowUp] = []
    for n in notices:
        if n.kind != "retire" or n.state != "open":
            continue
        name = escape(n.workload or "this workload")
        if n.reminded_at is None:
            if now - n.sent_at >= remind_after:
                text = (
                    f":alarm_clock: Reminder: the retire verdict on *{name}* ({n.quarter}) has "
                    f"waited {_days(now - n.sent_at)} without an acknowledgement. Use the "
                    "buttons above: Acknowledge, Re-run now, Dispute or Mark as done."
                )
                due.append(DueFollowUp(n.notice_id, "reminder", n.quarter, _payload(text)))
            continue
        if n.escalated_at is None and platform_channel and now - n.reminded_at >= escalate_after:
            text = (
                f":rotating_light: Escalation: the retire verdict on *{name}* ({n.quarter}) is "
                f"unacknowledged {_days(now - n.sent_at)} after its notice and "
                f"{_days(now - n.reminded_at)} after its reminder. Its owner has not acted."
            )
            due.append(
                DueFollowUp(n.notice_id, "escalation", n.quarter, _payload(text), platform_channel)
            )
    return due
