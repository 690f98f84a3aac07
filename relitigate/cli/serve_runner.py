"""``relitigate serve``: one machine, no workers.

It starts ``prefect server start`` on SQLite (127.0.0.1), then serves the quarterly (cron)
and on-demand deployments from this process, which is what makes the schedule fire
(Prefect's ephemeral API has no scheduler). With a Slack app token
(``RELITIGATE_SLACK_APP_TOKEN``) it also listens for clicks on notices over Socket Mode.
Ctrl-C or SIGTERM stops the runner and the server. The server process itself is
:class:`relitigate.prefect_server.LocalPrefectServer`.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import typer

from relitigate.prefect_server import LocalPrefectServer, remove_serve_marker, write_serve_marker


def serve_locally(port: int, limit: int | None) -> None:
    """Start the server on ``port``, serve the deployments until interrupted, stop it."""
    from relitigate.settings import load_settings

    home = default_prefect_home()
    server = LocalPrefectServer(home=home, port=port)
    typer.echo(f"relitigate: starting the Prefect server (home {home}, log {server.log_path})")
    with stop_signals_interrupt():
        try:
            server.start()
            typer.echo(f"relitigate: Prefect API {server.api_url} (UI on port {port})")
            # Before the first prefect import reads its settings: this process and the
            # flow runs it starts talk to the server just started.
            os.environ.update(
                PREFECT_API_URL=server.api_url,
                PREFECT_HOME=str(home),
                PREFECT_SERVER_ANALYTICS_ENABLED="false",
            )
            if load_settings().gpu_deployment:
                typer.echo(
                    "relitigate: RELITIGATE_GPU_DEPLOYMENT is set: fine-tune benchmarks wait "
                    "for a worker on that deployment's pool (unset it to run them here)",
                    err=True,
                )
            from prefect.settings import PREFECT_API_URL, temporary_settings

            data_dir = load_settings().data_dir
            write_serve_marker(data_dir, server.api_url)  # `relitigate run` uses this API
            with temporary_settings({PREFECT_API_URL: server.api_url}), _notice_listener():
                serve_deployments(limit)
        except KeyboardInterrupt:
            pass
        finally:
            typer.echo("relitigate: stopping the Prefect server")
            remove_serve_marker(load_settings().data_dir)
            server.stop()


@contextlib.contextmanager
def stop_signals_interrupt() -> Iterator[None]:
    """Ctrl-C and SIGTERM (e.g. systemd stopping us) unwind, so the server is stopped.

    SIGINT gets Python's handler even when the parent ignored it (a shell's ``cmd &``), so
    Ctrl-C or ``kill -INT`` always stops ``serve``. The Prefect runner installs its own
    SIGTERM handler while serving, which also ends :func:`serve_deployments`.
    """

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous_term = signal.signal(signal.SIGTERM, interrupt)
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        signal.signal(signal.SIGINT, previous_int)


@contextlib.contextmanager
def _notice_listener() -> Iterator[None]:
    """Notice buttons over Socket Mode, and the reminders pass, next to the runner when a
    Slack app token is configured (see :mod:`relitigate.cli.listen_runner`)."""
    import threading

    from relitigate.cli.listen_runner import listening, remind_forever
    from relitigate.settings import load_settings
    from tasks.context import opened

    settings = load_settings()
    if not (settings.slack_app_token or settings.slack_app_token_block):
        yield
        return
    stop = threading.Event()
    with opened(settings) as ctx, listening(ctx, socket_mode=True, http_port=None) as lines:
        for line in lines:
            typer.echo(f"relitigate: notice actions: {line}")
        reminders = threading.Thread(
            target=remind_forever, args=(ctx,), kwargs={"every_s": 3600.0, "stop": stop},
            daemon=True,
        )  # fmt: skip
        reminders.start()
        try:
            yield
        finally:
            stop.set()


def serve_deployments(limit: int | None) -> None:
    """Serve ``relitigate-quarter/quarterly`` (cron) and ``relitigate-quarter/on-demand``
    from this process until interrupted (the Prefect API must be configured already)."""
    from prefect import serve
    from prefect.deployments.runner import RunnerDeployment
    from prefect.schedules import Cron

    from flows.quarter import QUARTERLY_CRON, QUARTERLY_TIMEZONE, relitigate_quarter

    quarterly = relitigate_quarter.to_deployment(
        name="quarterly",
        description="Re-litigate every production fine-tune at the start of each quarter.",
        schedules=[Cron(QUARTERLY_CRON, timezone=QUARTERLY_TIMEZONE)],
        concurrency_limit=1,
    )
    on_demand = relitigate_quarter.to_deployment(
        name="on-demand",
        description="Re-litigate now, for a given quarter and/or workloads (no schedule).",
    )
    assert isinstance(quarterly, RunnerDeployment) and isinstance(on_demand, RunnerDeployment)
    serve(quarterly, on_demand, limit=limit)


def default_prefect_home() -> Path:
    """``PREFECT_HOME`` if set, else ``prefect/`` under relitigate's data directory."""
    from relitigate.settings import load_settings

    configured = os.environ.get("PREFECT_HOME")
    return Path(configured) if configured else load_settings().data_dir / "prefect"
