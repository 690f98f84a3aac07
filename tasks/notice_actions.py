"""Owners' actions on notices, wired to the registry and Slack: the listener's handler, the
reminders pass, and the secrets both read.

Thin: what an action does is :mod:`tasks.notify.actions_handler`, when a reminder is due
:mod:`tasks.notify.reminders`, where clicks come in :mod:`tasks.notify.listener` (signed
HTTP) and :class:`tasks.notify.slack.SocketModeListener`. The re-run itself is handed in by
the front door, which may start flows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import SecretStr

from tasks.context import RegistryContext

if TYPE_CHECKING:
    from tasks.notify.actions import Background, Rerun
    from tasks.notify.actions_handler import ActionHandler
    from tasks.notify.slack import SlackClient


def load_secret(value: SecretStr | None, block: str | None) -> SecretStr | None:
    """A secret from settings, else from the Prefect Secret block ``block``, else None."""
    from tasks.credentials import load_secret_block
    from tasks.redaction import register_secret

    if value is not None and value.get_secret_value():
        register_secret(value)
        return value
    found = load_secret_block(block) if block else None
    return SecretStr(found) if found else None


def bot_client(ctx: RegistryContext) -> SlackClient | None:
    """The Slack client on the bot token, or None without one."""
    from tasks.credentials import load_slack_token
    from tasks.notify.slack import SlackClient

    config = ctx.settings
    token = load_slack_token(token=config.slack_token, secret_block=config.slack_token_block)
    if token is None:
        return None
    return SlackClient(token.value, base_url=config.slack_base_url, token_setting=token.setting)


def deliver_now(ctx: RegistryContext, slack: SlackClient) -> dict[str, int]:
    """Send the outbox's pending notices (follow-ups included); counts by outcome."""
    from registry.outbox import NoticeOutbox
    from tasks.notify.delivery import deliver

    report = deliver(NoticeOutbox(ctx.sessions), slack)
    return {k: report.count(k) for k in ("sent", "failed", "pending", "skipped")}


def action_handler(
    ctx: RegistryContext,
    slack: SlackClient,
    *,
    rerun: Rerun | None,
    background: Background | None = None,
    now: Callable[[], datetime] | None = None,
) -> ActionHandler:
    """The handler both listeners hand each interaction payload to."""
    from registry.notice_actions import ActionStore
    from tasks.notify.actions import ActionPolicy
    from tasks.notify.actions_handler import ActionHandler

    config = ctx.settings
    return ActionHandler(
        ActionStore(ctx.sessions),
        slack,
        policy=ActionPolicy.parse(
            config.slack_admins, platform_channel=config.slack_platform_channel
        ),
        rerun=rerun,
        deliver=lambda: deliver_now(ctx, slack),
        background=background,
        now=now,
    )


@dataclass(frozen=True)
class RemindersResult:
    """What a reminders pass enqueued: notice ids of the new reminders and escalations."""

    reminders: tuple[int, ...]
    escalations: tuple[int, ...]


def enqueue_due_reminders(ctx: RegistryContext, *, now: datetime | None = None) -> RemindersResult:
    """Enqueue the reminders and escalations due at ``now`` (default: the current time).

    Idempotent: each is an outbox follow-up under its own key, enqueued once however often
    this runs; they are sent by the next delivery.
    """
    from registry.notice_actions import (
        enqueue_followup,
        escalation_key,
        open_decisions,
        reminder_key,
    )
    from tasks.notify.reminders import due_followups

    when = now or datetime.now(UTC)
    config = ctx.settings
    reminders: list[int] = []
    escalations: list[int] = []
    with ctx.sessions.begin() as session:
        due = due_followups(
            open_decisions(session),
            now=when,
            remind_after=timedelta(days=config.reminder_days),
            escalate_after=timedelta(days=config.escalation_days),
            platform_channel=config.slack_platform_channel,
        )
        for d in due:
            reminder = d.step == "reminder"
            notice_id = enqueue_followup(
                session,
                key=reminder_key(d.notice_id) if reminder else escalation_key(d.notice_id),
                kind=d.step,
                quarter=d.quarter,
                payload=d.payload,
                reply_to_id=d.notice_id if reminder else None,
                destination=d.destination,
                now=when,
            )
            (reminders if reminder else escalations).append(notice_id)
    return RemindersResult(tuple(reminders), tuple(escalations))
