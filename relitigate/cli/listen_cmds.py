"""``relitigate listen``: receive clicks on notices' buttons, and send due reminders.

Socket Mode (``RELITIGATE_SLACK_APP_TOKEN``) needs no public URL and is the default; with
``--http PORT`` the signed interactivity endpoint listens too (``RELITIGATE_SLACK_SIGNING_
SECRET``; put a TLS proxy in front of it and give Slack ``https://YOUR-HOST/slack/
interactions``). The listener runs until Ctrl-C. Prefect and slack_sdk are imported inside
the command body only.
"""

from __future__ import annotations

import threading
from typing import Annotated

import typer


def listen(
    socket_mode: Annotated[
        bool,
        typer.Option("--socket/--no-socket", help="Receive clicks over Socket Mode."),
    ] = True,
    http: Annotated[
        int | None,
        typer.Option("--http", metavar="PORT", help="Also serve the signed HTTP endpoint."),
    ] = None,
    host: Annotated[
        str, typer.Option("--host", help="Address of the HTTP endpoint.")
    ] = "127.0.0.1",
    remind_every: Annotated[
        float,
        typer.Option("--remind-every", min=1, help="Seconds between reminder passes."),
    ] = 3600.0,
) -> None:
    """Act on notices from Slack: Acknowledge, Snooze, Re-run now, Dispute, Mark as done."""
    from relitigate.cli.listen_runner import listening, remind_forever
    from relitigate.cli.serve_runner import stop_signals_interrupt
    from tasks.context import opened

    if not socket_mode and http is None:
        raise typer.BadParameter("nothing to listen on: drop --no-socket or add --http PORT")
    stop = threading.Event()
    # Ctrl-C, kill -INT and SIGTERM stop the listener even when started as `cmd &`
    with (
        stop_signals_interrupt(),
        opened() as ctx,
        listening(ctx, socket_mode=socket_mode, http_port=http, http_host=host) as lines,
    ):
        for line in lines:
            typer.echo(f"relitigate: {line}")
        typer.echo("relitigate: listening for notice actions (Ctrl-C stops)")
        try:
            remind_forever(ctx, every_s=remind_every, stop=stop)
        except KeyboardInterrupt:
            stop.set()
    typer.echo("relitigate: listener stopped")


def register(app: typer.Typer) -> None:
    """Attach ``listen``."""
    app.command()(listen)
