"""Notice tasks: enqueue the quarter digest, and send the outbox's pending notices to Slack.

Thin: delivery rules live in :mod:`tasks.notify.delivery`, the digest's content in
:mod:`tasks.notify.digest` and :mod:`tasks.notify.message`. Without a token nothing is sent:
the task says so once and the notices stay pending for the next delivery. When Slack refuses
the token, the pass stops, every notice stays pending, and the task logs one line saying
which setting to fix (it does not fail: the quarter's decisions stand). Without a platform
channel (``RELITIGATE_SLACK_PLATFORM_CHANNEL``) no digest is enqueued.

The token is read from a Prefect Secret block with ``await Secret.aload`` on the flow's
event loop (Prefect 3's ``load`` returns a coroutine there), then handed to delivery, which
runs in a worker thread.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio
from prefect import get_run_logger, task
from prefect.cache_policies import NONE

from tasks.context import RegistryContext
from tasks.flow_run import flow_run_url

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tasks.notify.facts import OpenLine
    from tasks.notify.token import SlackToken


@dataclass(frozen=True)
class DigestResult:
    """What the digest step did.

    Attributes:
        notice_id: The quarter's digest notice (new, or the one an earlier run enqueued);
            None when there is none.
        reason: Why there is none, when ``notice_id`` is None.
    """

    notice_id: int | None
    reason: str = ""


def enqueue_digest(
    ctx: RegistryContext, quarter: str, *, flow_run_url: str | None = None
) -> DigestResult:
    """Enqueue the quarter's digest for the platform channel, once per quarter.

    Idempotent: the outbox keeps one digest per quarter (its dedupe key), so a re-run returns
    the digest the first run enqueued, unchanged. Nothing is enqueued without a platform
    channel, or while an active workload has no decision for ``quarter``.
    """
    from registry.decisions import get_decision
    from registry.notices import enqueue_notice
    from registry.queries import list_workloads
    from tasks.notify import digest_entry
    from tasks.notify.digest import RecordedDecision, plan_quarter_digest

    channel = ctx.settings.slack_platform_channel
    if not channel:
        return DigestResult(None, "no platform channel (RELITIGATE_SLACK_PLATFORM_CHANNEL)")
    with ctx.sessions.begin() as session:
        decisions: dict[str, RecordedDecision | None] = {}
        for workload in list_workloads(session):
            row = get_decision(session, workload.id, quarter)
            decisions[workload.name] = (
                None
                if row is None
                else RecordedDecision(
                    workload=workload.name,
                    verdict=str(row.verdict),
                    metrics=dict(row.metrics or {}),
                    trend=dict(row.trend or {}),
                )
            )
        plan = plan_quarter_digest(
            quarter, decisions, flow_run_url=flow_run_url, open_decisions=_open_lines(session)
        )
        if plan.facts is None:
            return DigestResult(None, plan.reason)
        entry = digest_entry(plan.facts, platform_channel=channel)
        if entry is None:
            return DigestResult(None, "no platform channel")
        notice = enqueue_notice(
            session,
            decision_id=None,
            workload_id=None,
            quarter=quarter,
            kind=entry.kind,
            destination=entry.destination,
            payload=dict(entry.payload),
        )
        return DigestResult(notice.id)


def _open_lines(session: Session) -> list[OpenLine]:
    """Decisions whose notice went out and that nobody marked done (for the digest)."""
    from datetime import UTC, datetime

    from registry.notice_actions import open_decisions
    from tasks.notify.facts import OpenLine

    now = datetime.now(UTC)
    return [
        OpenLine(
            workload=o.workload or "?", quarter=o.quarter, kind=o.kind, state=o.state,
            age_days=(now - o.sent_at).total_seconds() / 86400,
        )
        for o in open_decisions(session)
    ]  # fmt: skip


@task(name="enqueue-digest", task_run_name="enqueue digest ({quarter})", cache_policy=NONE)
async def enqueue_digest_task(ctx: RegistryContext, quarter: str) -> DigestResult:
    """Enqueue the quarter's platform-channel digest (see :func:`enqueue_digest`)."""
    logger = get_run_logger()
    link = flow_run_url(ctx.settings.prefect_ui_url)
    result = await anyio.to_thread.run_sync(
        functools.partial(enqueue_digest, ctx, quarter, flow_run_url=link)
    )
    if result.notice_id is None:
        logger.info("quarter digest: %s", result.reason)
    else:
        logger.info("quarter digest for %s: notice %d", quarter, result.notice_id)
    return result


@task(name="deliver-notices", cache_policy=NONE)
async def deliver_notices_task(ctx: RegistryContext) -> dict[str, int]:
    """Deliver pending notices; returns counts by outcome (``sent``, ``failed``, ``pending``,
    ``skipped``; ``no_token`` or ``stopped`` is 1 when nothing could be sent)."""
    from tasks.credentials import aload_slack_token

    logger = get_run_logger()
    config = ctx.settings
    token = await aload_slack_token(token=config.slack_token, secret_block=config.slack_token_block)
    counts, stopped = await anyio.to_thread.run_sync(deliver_with, ctx, token)
    if counts.get("no_token"):
        logger.info("no Slack token configured: notices stay pending in the outbox")
    elif stopped:
        logger.error("notice delivery stopped: %s", stopped)
    else:
        logger.info("notice delivery: %s", counts)
    return counts


def deliver_pending(ctx: RegistryContext) -> dict[str, int]:
    """Deliver pending notices outside Prefect (synchronous); counts by outcome."""
    from tasks.credentials import load_slack_token

    config = ctx.settings
    token = load_slack_token(token=config.slack_token, secret_block=config.slack_token_block)
    counts, _ = deliver_with(ctx, token)
    return counts


def deliver_with(
    ctx: RegistryContext, token: SlackToken | None
) -> tuple[dict[str, int], str | None]:
    """Deliver with ``token``: counts by outcome, and why the pass stopped (or None)."""
    from registry.outbox import NoticeOutbox
    from tasks.notify.delivery import deliver

    if token is None:
        return {"sent": 0, "failed": 0, "pending": 0, "skipped": 0, "no_token": 1}, None
    from tasks.notify.slack import SlackClient

    report = deliver(
        NoticeOutbox(ctx.sessions),
        SlackClient(token.value, base_url=ctx.settings.slack_base_url, token_setting=token.setting),
    )
    counts = {k: report.count(k) for k in ("sent", "failed", "pending", "skipped")}
    if report.stopped:
        counts["stopped"] = 1
    return counts, report.stopped
