"""Send the outbox's pending notices to Slack, each exactly once.

Exactly once, step by step (``deliver_one``):

1. **Claim** the notice with one conditional UPDATE, committed on its own
   (``pending -> sending`` with ``claimed_at``): of two deliverers, or a retry racing the
   first try, exactly one wins; the other skips it. A ``sending`` notice whose claim is
   older than ``stale_after`` is taken over the same way, once. The claim time is a fencing
   token: every later change is conditional on it. The claim returns the row as it is now,
   not as it was listed.
2. **Check** first if an earlier attempt may have reached Slack (a 5xx or a dropped
   connection on ``chat.postMessage``, or a deliverer that died after claiming; its claim
   is taken over once older than ``stale_after``). Every notice is posted with message
   metadata naming it, and the channel is recorded before posting, so the channel's history
   (or the thread's replies) says whether Slack already has it: found -> mark sent, no
   second post; not found -> post; cannot look (e.g. missing ``*:history`` scope, or a
   channel known only by name) -> mark failed with a reason that says to look in the
   channel, rather than risk a duplicate.
3. **Resolve** the destination: the owner's Slack user id, else their email through
   ``users.lookupByEmail`` (cached in ``slack_identities``), as a direct message; else the
   workload's channel. Platform notices (``inconclusive``, digests) go to their fixed
   destination. A ``#name`` becomes its channel id through ``conversations.list`` (needs
   ``channels:read``/``groups:read``; without them the name is used as is). Later notices
   for a workload reply in the thread of its first sent notice in the same channel.
4. **Record the channel, then post**. ``chat.postMessage`` retries only what cannot have
   posted (429 with ``Retry-After``, refused connections). Then: ok -> sent
   (``channel_id``, ``ts``, ``sent_at``); permanent error -> failed with the reason;
   transient -> the claim is released back to pending (``attempts`` counts claims), keeping
   the channel when the attempt may have landed, so step 2 runs next time.

This module never imports the registry or slack_sdk: it is given an :class:`Outbox` (the
registry's ``NoticeOutbox``) and a :class:`Slack` (``tasks.notify.slack.SlackClient``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from pydantic import SecretStr

from tasks.notify.errors import NoticeError, SlackError, SlackPermanentError

logger = logging.getLogger(__name__)

DEFAULT_STALE_AFTER = timedelta(minutes=10)
"""A claim older than this belongs to a deliverer that died (a send takes seconds)."""

_THREAD_GONE = frozenset({"thread_not_found", "invalid_thread_ts", "message_not_found"})


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
    def thread_ts(self, workload_id: int, *, channel_id: str) -> str | None: ...
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
    """One delivery's outcomes."""

    outcomes: tuple[Outcome, ...]

    def count(self, result: Result) -> int:
        """How many notices ended with ``result``."""
        return sum(1 for o in self.outcomes if o.result == result)

    def summary(self) -> str:
        """``sent 2, failed 1, still pending 0, skipped 0``."""
        return (
            f"sent {self.count('sent')}, failed {self.count('failed')}, "
            f"still pending {self.count('pending')}, skipped {self.count('skipped')}"
        )


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def notice_ref(notice: DeliverableNotice) -> str:
    """The reference stored in a notice's Slack message metadata.

    The id plus its enqueue time, so two registries posting to one channel do not collide.
    """
    return f"{notice.id}-{int(notice.created_at.timestamp() * 1_000_000)}"


def load_token(*, token: SecretStr | None, secret_block: str | None = None) -> SecretStr | None:
    """The Slack token: from settings, else from a Prefect Secret block, else None.

    Prefect is imported only when a block name is given and no token is set.

    Raises:
        NoticeError: The block could not be loaded (the message names the block only).
    """
    if token is not None and token.get_secret_value():
        return token
    if not secret_block:
        return None
    try:
        from prefect.blocks.system import Secret

        value = Secret.load(secret_block).get()  # type: ignore[union-attr]
    except Exception as exc:
        raise NoticeError(
            f"could not load the Slack token from Prefect Secret block {secret_block!r} "
            f"({type(exc).__name__}); create it with `prefect block create secret` or set "
            "RELITIGATE_SLACK_TOKEN"
        ) from None
    return SecretStr(str(value)) if value else None


def deliver(
    outbox: Outbox,
    slack: Slack,
    *,
    now: Callable[[], datetime] = utcnow,
    stale_after: timedelta = DEFAULT_STALE_AFTER,
    limit: int | None = None,
) -> DeliveryReport:
    """Send every deliverable notice once, oldest first.

    Args:
        outbox: The registry's outbox.
        slack: The Slack client.
        now: The clock.
        stale_after: Take over claims older than this (their deliverer died).
        limit: Send at most this many.

    Returns:
        What happened to each notice.
    """
    notices = outbox.deliverable(now=now(), stale_after=stale_after)
    if limit is not None:
        notices = notices[:limit]
    outcomes = tuple(
        deliver_one(outbox, slack, n, now=now, stale_after=stale_after) for n in notices
    )
    report = DeliveryReport(outcomes)
    logger.info("notice delivery: %s", report.summary())
    return report


def deliver_one(
    outbox: Outbox,
    slack: Slack,
    notice: DeliverableNotice,
    *,
    now: Callable[[], datetime] = utcnow,
    stale_after: timedelta = DEFAULT_STALE_AFTER,
) -> Outcome:
    """Claim, check, resolve, post and record one notice (see the module docstring).

    A ``sending`` notice (``claimed_at`` set) is taken over only if its claim is older than
    ``stale_after`` and still the one this deliverer saw.
    """
    claimed = outbox.claim(
        notice.id, seen_claim=notice.claimed_at, now=now(), stale_after=stale_after
    )
    if claimed is None or claimed.claimed_at is None:
        return Outcome(notice.id, "skipped", "claimed by another deliverer")
    # From here on, the row as the claim found it: another deliverer may have tried since
    # this one listed it, and left a channel to check.
    notice, claim = claimed, claimed.claimed_at
    ref = notice_ref(notice)

    if notice.needs_check and notice.channel_id:
        checked = _check(outbox, slack, notice, claim=claim, ref=ref, now=now)
        if checked is not None:
            return checked

    try:
        channel = _resolve(outbox, slack, notice, now=now)
    except SlackError as exc:
        return _record_error(outbox, notice.id, claim, exc, stage="resolving the destination")
    except NoticeError as exc:
        outbox.mark_failed(notice.id, claim=claim, reason=str(exc))
        return _log(Outcome(notice.id, "failed", str(exc)))

    thread_ts = None
    if notice.workload_id is not None and notice.kind != "digest":
        thread_ts = outbox.thread_ts(notice.workload_id, channel_id=channel)
    if not outbox.record_channel(notice.id, claim=claim, channel_id=channel):
        return Outcome(notice.id, "skipped", "claim taken over by another deliverer")

    text = str(notice.payload.get("text") or "")
    blocks = notice.payload.get("blocks") or None
    try:
        try:
            posted = slack.post_message(
                channel, text=text, blocks=blocks, thread_ts=thread_ts, notice_ref=ref
            )
        except SlackPermanentError as exc:
            if thread_ts is None or exc.code not in _THREAD_GONE:
                raise
            thread_ts = None
            posted = slack.post_message(channel, text=text, blocks=blocks, notice_ref=ref)
    except SlackError as exc:
        return _record_error(outbox, notice.id, claim, exc, stage="posting")
    _record_sent(outbox, notice.id, claim, posted, thread_ts=thread_ts, now=now)
    return _log(Outcome(notice.id, "sent", "posted", posted.channel_id, posted.ts))


def _check(
    outbox: Outbox,
    slack: Slack,
    notice: DeliverableNotice,
    *,
    claim: datetime,
    ref: str,
    now: Callable[[], datetime],
) -> Outcome | None:
    """Did an earlier attempt land? An outcome if this settles the notice, else None."""
    channel = str(notice.channel_id)
    thread_ts = None
    if notice.workload_id is not None and notice.kind != "digest":
        thread_ts = outbox.thread_ts(notice.workload_id, channel_id=channel)
    try:
        found = slack.find_notice(channel, notice_ref=ref, oldest=notice.created_at)
        if found is None and thread_ts is not None:
            found = slack.find_notice(
                channel, notice_ref=ref, oldest=notice.created_at, thread_ts=thread_ts
            )
    except SlackPermanentError as exc:
        reason = (
            f"an earlier attempt may have posted this notice to {channel}, and its history "
            f"could not be checked ({exc.code}); look in {channel} and re-enqueue it if it is "
            "missing (add the channels:history / im:history scopes to avoid this)"
        )
        outbox.mark_failed(notice.id, claim=claim, reason=reason)
        return _log(Outcome(notice.id, "failed", reason))
    except SlackError as exc:
        outbox.keep_pending(notice.id, claim=claim, error=str(exc), maybe_delivered=True)
        return _log(Outcome(notice.id, "pending", f"checking {channel}: {exc}"))
    if found is None:
        return None
    _record_sent(outbox, notice.id, claim, found, thread_ts=None, now=now)
    return _log(
        Outcome(notice.id, "sent", "already in Slack (found by its metadata)", channel, found.ts)
    )


def _record_sent(
    outbox: Outbox,
    notice_id: int,
    claim: datetime,
    posted: PostedMessage,
    *,
    thread_ts: str | None,
    now: Callable[[], datetime],
) -> None:
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


def _record_error(
    outbox: Outbox, notice_id: int, claim: datetime, exc: SlackError, *, stage: str
) -> Outcome:
    if exc.transient:
        outbox.keep_pending(
            notice_id, claim=claim, error=str(exc), maybe_delivered=exc.maybe_delivered
        )
        return _log(Outcome(notice_id, "pending", f"{stage}: {exc}"))
    outbox.mark_failed(notice_id, claim=claim, reason=str(exc))
    return _log(Outcome(notice_id, "failed", f"{stage}: {exc}"))


def _log(outcome: Outcome) -> Outcome:
    level = logging.INFO if outcome.result == "sent" else logging.WARNING
    logger.log(level, "notice %s %s: %s", outcome.notice_id, outcome.result, outcome.detail)
    return outcome


def _is_user_id(value: str) -> bool:
    return len(value) > 1 and value[0] in "UW" and value[1:].isalnum() and value.isupper()


def _resolve(
    outbox: Outbox, slack: Slack, notice: DeliverableNotice, *, now: Callable[[], datetime]
) -> str:
    """The channel to post to (a DM channel id, a channel id or ``#name``)."""
    if notice.destination:
        dest = notice.destination.strip()
        if _is_user_id(dest):
            return slack.open_dm(dest)
        if "@" in dest:
            return slack.open_dm(_user_for_email(outbox, slack, dest, now=now))
        return _channel(slack, dest)

    last: SlackPermanentError | None = None
    if notice.owner_slack_user:
        try:
            return slack.open_dm(notice.owner_slack_user)
        except SlackPermanentError as exc:
            last = exc
    if notice.owner_email:
        try:
            return slack.open_dm(_user_for_email(outbox, slack, notice.owner_email, now=now))
        except SlackPermanentError as exc:
            last = exc
    if notice.slack_channel:
        if last is not None:
            logger.warning(
                "notice %s: owner unreachable by DM (%s); posting to %s",
                notice.id,
                last.code,
                notice.slack_channel,
            )
        return _channel(slack, notice.slack_channel)
    if last is not None:
        raise last
    raise NoticeError(
        f"notice {notice.id} has no destination: set the workload's owner_slack_user, "
        "owner_email or slack_channel and run `relitigate notices deliver` again"
    )


def _channel(slack: Slack, channel: str) -> str:
    """A channel id as is; ``#name`` as its id where the bot can list it, else the name."""
    channel = channel.strip()
    if channel.startswith("#"):
        return slack.channel_id(channel) or channel
    return channel


def _user_for_email(
    outbox: Outbox, slack: Slack, email: str, *, now: Callable[[], datetime]
) -> str:
    cached = outbox.cached_user_id(email)
    if cached:
        return cached
    user_id = slack.lookup_user_id(email)
    outbox.cache_user_id(email, user_id, now=now())
    return user_id
