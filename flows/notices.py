"""``deliver-notices``: send the outbox's pending Slack notices (each exactly once)."""

from __future__ import annotations

from prefect import flow

from tasks.notices import deliver_notices_task
from tasks.runtime import settings


@flow(name="deliver-notices")
async def deliver_notices() -> dict[str, int]:
    """Deliver pending notices; without a Slack token, or when Slack refuses it, they stay
    pending (the run logs which setting to fix)."""
    block = settings().slack_token_block
    return await deliver_notices_task(secret_block=block)
