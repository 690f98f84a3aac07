"""The notice listener: Socket Mode and/or the signed HTTP endpoint, the re-runs it starts,
and the periodic reminders pass. ``relitigate listen`` runs it alone; ``relitigate serve``
runs it next to the Prefect runner when a Slack app token is configured.

"Re-run now" re-benchmarks the notice's workload and quarter from scratch as a new attempt
(``fresh``; the earlier attempt stays on record): through the on-demand deployment
(``RELITIGATE_ON_DEMAND_DEPLOYMENT``) when a Prefect server is configured and has it, else
by running the workload flow in this process. Re-runs go one at a time on a worker thread,
so clicks are acknowledged at once.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from tasks.notify.errors import NoticeError

if TYPE_CHECKING:
    from tasks.context import RegistryContext
    from tasks.notify.actions import Rerun, RerunRequest

logger = logging.getLogger("relitigate.listen")


def make_rerun(ctx: RegistryContext) -> Rerun:
    """The re-run a notice's button starts (see the module docstring)."""

    def rerun(request: RerunRequest) -> str:
        from tasks.decide import existing_decision

        before = existing_decision(ctx, request.workload, request.quarter)
        _run_flow(ctx, request)
        after = existing_decision(ctx, request.workload, request.quarter)
        if after is None:
            return f":x: The re-run of {request.workload} {request.quarter} recorded no decision."
        was = before.verdict if before else None
        change = "unchanged" if was == after.verdict else f"was {was}"
        why = f" {after.reasons[0]}" if after.reasons else ""
        return (
            f":white_check_mark: Re-run of {request.workload} {request.quarter} finished "
            f"(attempt {after.attempt}): *{after.verdict}* ({change}).{why}"
        )

    return rerun


def _deployed(name: str) -> bool:
    """Whether a Prefect server is configured and has deployment ``name``."""
    from prefect.settings import get_current_settings

    if not get_current_settings().api.url:
        return False
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_deployment_by_name(name)
        except ObjectNotFound:
            logger.warning("no deployment %s on the Prefect server: re-running here", name)
            return False
    return True


def _run_flow(ctx: RegistryContext, request: RerunRequest) -> None:
    if _deployed(ctx.settings.on_demand_deployment):
        from prefect.deployments import run_deployment

        from flows.parameters import QuarterRequest

        params = QuarterRequest(
            quarter=request.quarter, workloads=[request.workload], fresh=True, deliver=False
        )
        run = run_deployment(
            ctx.settings.on_demand_deployment,
            parameters={"request": params.model_dump(mode="json")},
            timeout=None,
        )
        if run.state is None or not run.state.is_completed():  # type: ignore[union-attr]
            state = run.state.name if run.state else "unknown"  # type: ignore[union-attr]
            raise RuntimeError(f"flow run {run.id} ended {state}")  # type: ignore[union-attr]
        return
    import asyncio

    from flows.parameters import WorkloadRequest
    from flows.workload import relitigate_workload
    from tasks.context import handed_down

    with handed_down(ctx):
        asyncio.run(
            relitigate_workload(
                WorkloadRequest(workload=request.workload, quarter=request.quarter, fresh=True)
            )
        )


@contextlib.contextmanager
def listening(
    ctx: RegistryContext,
    *,
    socket_mode: bool,
    http_port: int | None,
    http_host: str = "127.0.0.1",
) -> Iterator[list[str]]:
    """Run the listeners asked for until the block ends; yields one line per listener.

    Raises:
        NoticeError: No bot token, or a listener's secret is missing.
    """
    from tasks.notice_actions import action_handler, bot_client, load_secret

    config = ctx.settings
    slack = bot_client(ctx)
    if slack is None:
        raise NoticeError(
            "the listener needs the bot token to answer clicks: set RELITIGATE_SLACK_TOKEN"
        )
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rerun") as reruns:
        handler = action_handler(ctx, slack, rerun=make_rerun(ctx), background=reruns.submit)
        lines: list[str] = []
        with contextlib.ExitStack() as stack:
            if socket_mode:
                from tasks.notify.slack import SocketModeListener

                token = load_secret(config.slack_app_token, config.slack_app_token_block)
                if token is None:
                    raise NoticeError(
                        "Socket Mode needs the app-level token: set RELITIGATE_SLACK_APP_TOKEN "
                        "(xapp-..., scope connections:write)"
                    )
                socket = SocketModeListener(
                    token, on_interaction=handler.handle, base_url=config.slack_base_url
                )
                socket.connect()
                stack.callback(socket.close)
                lines.append("Socket Mode connected")
            if http_port is not None:
                from tasks.notify.listener import InteractionEndpoint

                secret = load_secret(config.slack_signing_secret, config.slack_signing_secret_block)
                if secret is None:
                    raise NoticeError(
                        "the HTTP endpoint needs the app's signing secret: set "
                        "RELITIGATE_SLACK_SIGNING_SECRET"
                    )
                endpoint = InteractionEndpoint(
                    secret, on_interaction=handler.handle, host=http_host, port=http_port
                )
                stack.enter_context(endpoint)
                lines.append(f"interactivity endpoint on {endpoint.url}")
            yield lines


def remind_forever(ctx: RegistryContext, *, every_s: float, stop: threading.Event) -> None:
    """Enqueue due reminders and escalations and deliver them, every ``every_s`` seconds."""
    from tasks.notice_actions import bot_client, deliver_now, enqueue_due_reminders

    slack = bot_client(ctx)
    while not stop.is_set():
        try:
            done = enqueue_due_reminders(ctx)
            if slack is not None and (done.reminders or done.escalations):
                deliver_now(ctx, slack)
        except Exception as exc:  # keep listening; say what failed
            logger.warning("reminders pass failed: %s", exc)
        stop.wait(every_s)
