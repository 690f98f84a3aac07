"""Where a notice goes: the owner by direct message, else the workload's channel.

A workload with an owner and a channel gets **one** notice: a direct message to the owner
(``owner_slack_user``, else the user ``users.lookupByEmail`` finds for ``owner_email``). Its
``slack_channel`` receives the notice only when the workload names no owner, or the owner
cannot be messaged (no such user, a deactivated account). Platform notices (``inconclusive``,
digests) go to their fixed destination. Credential errors are never a reason to fall back:
they stop the delivery (see :mod:`tasks.notify.delivery`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from tasks.notify.errors import NoticeError, SlackPermanentError
from tasks.notify.ports import DeliverableNotice, Outbox, Slack

logger = logging.getLogger(__name__)


def resolve(
    outbox: Outbox, slack: Slack, notice: DeliverableNotice, *, now: Callable[[], datetime]
) -> str:
    """The channel to post to (a DM channel id, a channel id or ``#name``).

    Raises:
        SlackPermanentError: Neither the owner nor the channel can be reached.
        NoticeError: The notice has no destination at all.
        SlackCredentialError: The token was refused (never caught here).
        SlackTransientError: Slack could not be reached.
    """
    if notice.destination:
        dest = notice.destination.strip()
        if is_user_id(dest):
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
        "owner_email or slack_channel and run `relitigate notices retry "
        f"{notice.id}`"
    )


def is_user_id(value: str) -> bool:
    """``U0123ABCD`` / ``W0123ABCD``: a Slack member id."""
    return len(value) > 1 and value[0] in "UW" and value[1:].isalnum() and value.isupper()


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
