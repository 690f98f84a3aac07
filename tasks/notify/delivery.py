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
   ``channels:read``/``groups:read``; without them the name is used as is). See
   :mod:`tasks.notify.destination`. Later notices for a workload reply in the thread of its
   first notice sent to the same channel for the same or an earlier quarter; a notice never
   replies in a newer quarter's thread (an older notice retried late posts top-level).
   A reply to an owner's action, or a reminder, goes in the thread of the notice it answers
   (``reply_channel``, ``reply_ts``).
4. **Record the channel, then post**. ``chat.postMessage`` retries only what cannot have
   posted (429 with ``Retry-After``, refused connections). Then: ok -> sent
   (``channel_id``, ``ts``, ``sent_at``); permanent error -> failed with the reason;
   transient -> the claim is released back to pending (``attempts`` counts claims), keeping
   the channel when the attempt may have landed, so step 2 runs next time.

Credentials are never a notice's fault. When Slack refuses the token (``invalid_auth``,
``token_revoked``, ``missing_scope`` on a call a notice needs...), :func:`deliver_one`
releases its claim (the attempt is not counted) and re-raises; :func:`deliver` stops the
pass at once, tries no other notice, and reports every one of them still pending, with one
line that says which setting to fix. Fixing the token and delivering again sends each once.

This module never imports the registry or slack_sdk: it is given an
:class:`~tasks.notify.ports.Outbox` (the registry's ``NoticeOutbox``) and a
:class:`~tasks.notify.ports.Slack` (``tasks.notify.slack.SlackClient``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from tasks.notify.destination import resolve
from tasks.notify.errors import (
    NoticeError,
    SlackCredentialError,
    SlackError,
    SlackPermanentError,
)
from tasks.notify.outcomes import (
    NOT_TRIED,
    DeliveryReport,
    Outcome,
    logged,
    record_error,
    record_sent,
)
from tasks.notify.ports import DeliverableNotice, Outbox, Slack

logger = logging.getLogger(__name__)

DEFAULT_STALE_AFTER = timedelta(minutes=10)
"""A claim older than this belongs to a deliverer that died (a send takes seconds)."""

_THREAD_GONE = frozenset({"thread_not_found", "invalid_thread_ts", "message_not_found"})


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def notice_ref(notice: DeliverableNotice) -> str:
    """The reference stored in a notice's Slack message metadata.

    The id plus its enqueue time, so two registries posting to one channel do not collide.
    """
    return f"{notice.id}-{int(notice.created_at.timestamp() * 1_000_000)}"


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
        What happened to each notice. When Slack refuses the token the pass stops there:
        that notice and every later one are ``pending``, and ``stopped`` says what to fix.
    """
    notices = outbox.deliverable(now=now(), stale_after=stale_after)
    if limit is not None:
        notices = notices[:limit]
    outcomes: list[Outcome] = []
    for i, notice in enumerate(notices):
        try:
            outcomes.append(deliver_one(outbox, slack, notice, now=now, stale_after=stale_after))
        except SlackCredentialError as exc:
            outcomes.append(Outcome(notice.id, "pending", str(exc)))
            outcomes.extend(Outcome(n.id, "pending", NOT_TRIED) for n in notices[i + 1 :])
            logger.error("notice delivery stopped: %s", exc)
            return DeliveryReport(tuple(outcomes), stopped=str(exc))
    report = DeliveryReport(tuple(outcomes))
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

    Raises:
        SlackCredentialError: Slack refused the token. The claim was released first: the
            notice is pending again, its attempt not counted.
    """
    claimed = outbox.claim(
        notice.id, seen_claim=notice.claimed_at, now=now(), stale_after=stale_after
    )
    if claimed is None or claimed.claimed_at is None:
        return Outcome(notice.id, "skipped", "claimed by another deliverer")
    # From here on, the row as the claim found it: another deliverer may have tried since
    # this one listed it, and left a channel to check.
    notice, claim = claimed, claimed.claimed_at

    if notice.needs_check and notice.channel_id:
        try:
            checked = _check(outbox, slack, notice, claim=claim, ref=notice_ref(notice), now=now)
        except SlackCredentialError as exc:
            # the earlier attempt is still unchecked: keep its channel for the next pass
            outbox.release(notice.id, claim=claim, error=str(exc), keep_channel=True)
            raise
        if checked is not None:
            return checked
    try:
        return _send(outbox, slack, notice, claim=claim, now=now)
    except SlackCredentialError as exc:
        # Slack refused the call, so this attempt posted nothing; any earlier attempt's
        # channel was checked above
        outbox.release(notice.id, claim=claim, error=str(exc), keep_channel=False)
        raise


def _send(
    outbox: Outbox,
    slack: Slack,
    notice: DeliverableNotice,
    *,
    claim: datetime,
    now: Callable[[], datetime],
) -> Outcome:
    """Resolve, post and record a claimed notice whose earlier attempts are settled."""
    ref = notice_ref(notice)
    try:
        channel = notice.reply_channel or resolve(outbox, slack, notice, now=now)
    except SlackCredentialError:
        raise
    except SlackError as exc:
        return record_error(outbox, notice.id, claim, exc, stage="resolving the destination")
    except NoticeError as exc:
        outbox.mark_failed(notice.id, claim=claim, reason=str(exc))
        return logged(Outcome(notice.id, "failed", str(exc)))

    thread_ts = _thread(outbox, notice, channel)
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
    except SlackCredentialError:
        raise
    except SlackError as exc:
        return record_error(outbox, notice.id, claim, exc, stage="posting")
    record_sent(outbox, notice.id, claim, posted, thread_ts=thread_ts, now=now)
    return logged(Outcome(notice.id, "sent", "posted", posted.channel_id, posted.ts))


def _check(
    outbox: Outbox,
    slack: Slack,
    notice: DeliverableNotice,
    *,
    claim: datetime,
    ref: str,
    now: Callable[[], datetime],
) -> Outcome | None:
    """Did an earlier attempt land? An outcome if this settles the notice, else None.

    Raises:
        SlackCredentialError: Slack refused the token (the caller releases the claim).
    """
    channel = str(notice.channel_id)
    thread_ts = _thread(outbox, notice, channel)
    try:
        found = slack.find_notice(channel, notice_ref=ref, oldest=notice.created_at)
        found_in = None
        if found is None and thread_ts is not None:
            found = slack.find_notice(
                channel, notice_ref=ref, oldest=notice.created_at, thread_ts=thread_ts
            )
            found_in = thread_ts
    except SlackCredentialError:
        raise
    except SlackPermanentError as exc:
        reason = (
            f"an earlier attempt may have posted this notice to {channel}, and its history "
            f"could not be checked ({exc.code}); look in {channel} and, if it is missing, "
            f"run `relitigate notices retry {notice.id}` (add the channels:history / "
            "im:history scopes to avoid this)"
        )
        outbox.mark_failed(notice.id, claim=claim, reason=reason)
        return logged(Outcome(notice.id, "failed", reason))
    except SlackError as exc:
        outbox.keep_pending(notice.id, claim=claim, error=str(exc), maybe_delivered=True)
        return logged(Outcome(notice.id, "pending", f"checking {channel}: {exc}"))
    if found is None:
        return None
    record_sent(outbox, notice.id, claim, found, thread_ts=found_in, now=now)
    return logged(
        Outcome(notice.id, "sent", "already in Slack (found by its metadata)", channel, found.ts)
    )


def _thread(outbox: Outbox, notice: DeliverableNotice, channel: str) -> str | None:
    """The thread this notice replies in: its workload's, in ``channel``, rooted at a notice
    of the same or an earlier quarter; None (top-level) for digests and otherwise. A reply
    or reminder goes in the thread of the notice it answers."""
    if notice.reply_ts is not None:
        return notice.reply_ts
    if notice.workload_id is None or notice.kind == "digest":
        return None
    return outbox.thread_ts(notice.workload_id, channel_id=channel, quarter=notice.quarter)
