"""The notice-delivery task: send the outbox's pending notices to Slack, each once.

Thin: delivery rules live in :mod:`tasks.notify.delivery`. Without a token nothing is sent:
the task says so once and the notices stay pending for the next delivery.
"""

from __future__ import annotations

import anyio
from prefect import get_run_logger, task

from tasks.runtime import registry_sessions, settings


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
    from registry.notices import NoticeOutbox
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
