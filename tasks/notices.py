"""Notice tasks: enqueue the quarter digest, and send the outbox's pending notices to Slack.

Thin: delivery rules live in :mod:`tasks.notify.delivery`, the digest's content in
:mod:`tasks.notify.digest` and :mod:`tasks.notify.message`. Without a token nothing is sent:
the task says so once and the notices stay pending for the next delivery. Without a platform
channel (``RELITIGATE_SLACK_PLATFORM_CHANNEL``) no digest is enqueued.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import anyio
from prefect import get_run_logger, task

from tasks.runtime import registry_sessions, settings


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
    quarter: str, *, flow_run_url: str | None = None, database_url: str | None = None
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

    channel = settings().slack_platform_channel
    if not channel:
        return DigestResult(None, "no platform channel (RELITIGATE_SLACK_PLATFORM_CHANNEL)")
    with registry_sessions(database_url).begin() as session:
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
        plan = plan_quarter_digest(quarter, decisions, flow_run_url=flow_run_url)
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


@task(name="enqueue-digest", task_run_name="enqueue digest ({quarter})")
async def enqueue_digest_task(quarter: str, database_url: str | None = None) -> DigestResult:
    """Enqueue the quarter's platform-channel digest (see :func:`enqueue_digest`)."""
    logger = get_run_logger()
    result = await anyio.to_thread.run_sync(
        functools.partial(
            enqueue_digest, quarter, flow_run_url=_flow_run_url(), database_url=database_url
        )
    )
    if result.notice_id is None:
        logger.info("quarter digest: %s", result.reason)
    else:
        logger.info("quarter digest for %s: notice %d", quarter, result.notice_id)
    return result


def _flow_run_url() -> str | None:
    base = settings().prefect_ui_url
    if not base:
        return None
    from prefect.runtime import flow_run

    return f"{base.rstrip('/')}/runs/flow-run/{flow_run.id}"


@task(name="deliver-notices")
async def deliver_notices_task(
    secret_block: str | None = None, database_url: str | None = None
) -> dict[str, int]:
    """Deliver pending notices; returns counts by outcome (``sent``, ``failed``, ...)."""
    logger = get_run_logger()
    counts = await anyio.to_thread.run_sync(deliver_pending, secret_block, database_url)
    if counts.get("no_token"):
        logger.info("no Slack token configured: notices stay pending in the outbox")
    else:
        logger.info("notice delivery: %s", counts)
    return counts


def deliver_pending(secret_block: str | None, database_url: str | None) -> dict[str, int]:
    """Deliver pending notices outside Prefect; counts by outcome."""
    from registry.outbox import NoticeOutbox
    from tasks.notify.delivery import deliver, load_token

    config = settings()
    token = load_token(token=config.slack_token, secret_block=secret_block)
    if token is None:
        return {"sent": 0, "failed": 0, "pending": 0, "skipped": 0, "no_token": 1}
    from tasks.notify.slack import SlackClient

    report = deliver(
        NoticeOutbox(registry_sessions(database_url)),
        SlackClient(token, base_url=config.slack_base_url),
    )
    return {k: report.count(k) for k in ("sent", "failed", "pending", "skipped")}
