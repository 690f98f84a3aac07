"""What notice delivery is given: the outbox and Slack, as typed interfaces.

:mod:`tasks.notify.delivery` never imports the registry or slack_sdk; it is handed an
:class:`Outbox` (``registry.outbox.NoticeOutbox``) and a :class:`Slack`
(``tasks.notify.slack.SlackClient``), each of which satisfies these protocols.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol


@dataclass(frozen=True)
class PostedMessage:
    """Where a message landed: the channel id (``C...``/``D...``) and its ``ts``."""

    channel_id: str
    ts: str


class DeliverableNotice(Protocol):
    """What delivery reads from an outbox notice (``registry.notices.OutboxNotice``)."""

    @property
    def id(self) -> int: ...
    @property
    def workload_id(self) -> int | None: ...
    @property
    def quarter(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def destination(self) -> str | None: ...
    @property
    def payload(self) -> dict[str, Any]: ...
    @property
    def channel_id(self) -> str | None: ...
    @property
    def claimed_at(self) -> datetime | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def owner_slack_user(self) -> str | None: ...
    @property
    def owner_email(self) -> str | None: ...
    @property
    def slack_channel(self) -> str | None: ...
    @property
    def needs_check(self) -> bool: ...
    @property
    def reply_channel(self) -> str | None: ...
    @property
    def reply_ts(self) -> str | None: ...


class Outbox(Protocol):
    """The outbox's state changes, each committed on its own (``registry.outbox.NoticeOutbox``)."""

    def deliverable(
        self, *, now: datetime, stale_after: timedelta
    ) -> Sequence[DeliverableNotice]: ...
    def claim(
        self,
        notice_id: int,
        *,
        seen_claim: datetime | None,
        now: datetime,
        stale_after: timedelta = ...,
    ) -> DeliverableNotice | None: ...
    def record_channel(self, notice_id: int, *, claim: datetime, channel_id: str) -> bool: ...
    def mark_sent(
        self,
        notice_id: int,
        *,
        claim: datetime,
        channel_id: str,
        ts: str,
        thread_ts: str | None,
        now: datetime,
    ) -> bool: ...
    def mark_failed(self, notice_id: int, *, claim: datetime, reason: str) -> bool: ...
    def keep_pending(
        self, notice_id: int, *, claim: datetime, error: str, maybe_delivered: bool
    ) -> bool: ...
    def release(
        self, notice_id: int, *, claim: datetime, error: str, keep_channel: bool
    ) -> bool: ...
    def thread_ts(self, workload_id: int, *, channel_id: str, quarter: str) -> str | None: ...
    def cached_user_id(self, email: str) -> str | None: ...
    def cache_user_id(self, email: str, user_id: str, *, now: datetime) -> None: ...


class Slack(Protocol):
    """The Slack calls delivery makes (``tasks.notify.slack.SlackClient``)."""

    def lookup_user_id(self, email: str) -> str: ...
    def open_dm(self, user_id: str) -> str: ...
    def channel_id(self, name: str) -> str | None: ...
    def post_message(
        self,
        channel: str,
        *,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
        notice_ref: str | None = None,
    ) -> PostedMessage: ...
    def find_notice(
        self,
        channel: str,
        *,
        notice_ref: str,
        oldest: datetime | None = None,
        thread_ts: str | None = None,
    ) -> PostedMessage | None: ...
