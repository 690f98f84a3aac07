"""``deliver-notices``: send the outbox's pending Slack notices (each exactly once)."""

from __future__ import annotations

from prefect import flow

from tasks.context import flow_context
from tasks.notices import deliver_notices_task


@flow(name="deliver-notices")
async def deliver_notices() -> dict[str, int]:
    """Deliver pending notices; without a Slack token, or when Slack refuses it, they stay
    pending (the run logs which setting to fix). Returns counts by outcome."""
    with flow_context() as ctx:
        return await deliver_notices_task(ctx)
