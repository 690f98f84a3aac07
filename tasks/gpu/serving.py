"""Served runner: bring a self-hosted candidate's model server up, hand back its route, stop it.

The eval set goes through the same API runner as every other candidate; this module only
owns the server's life::

    async with serve_model(candidate=spec.name, route=spec.route, config=cfg) as served:
        summary = await served.guard(run_candidate(served.candidate_spec(spec), items, ...))

The server runs in its own session (process group) with its output in a log file (the
process itself is :mod:`tasks.gpu.server_process`). Leaving the ``async with`` block
(normally, on an error or on cancellation) stops the whole group: SIGTERM, a grace period,
then SIGKILL. :meth:`ServedModel.guard` turns a server that exits mid-run into
:class:`~tasks.gpu.errors.ServerDiedError` at once instead of a run that retries a dead
port.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from tasks.evaluation.types import (
    CandidateSpec,
    EvalItem,
    ProgressCallback,
    ResultSink,
    RunSummary,
    Scorer,
)
from tasks.gpu.config import ServingConfig, served_names
from tasks.gpu.errors import ServerDiedError
from tasks.gpu.hardware import server_hardware
from tasks.gpu.server_process import (
    POLL_S,
    ServerProcess,
    build_command,
    start_server,
    stop_server,
    wait_until_healthy,
)
from tasks.gpu.throughput import ThroughputReport, measure_throughput
from tasks.processes import free_port

T = TypeVar("T")


@dataclass(frozen=True)
class ServedModel:
    """A running model server and the route that reaches it."""

    server: ServerProcess
    route: str
    """litellm route, e.g. ``hosted_vllm/ticket-ft-v3``."""
    api_base: str
    """E.g. ``http://127.0.0.1:41234/v1``."""
    model_ids: tuple[str, ...]
    """What ``GET /v1/models`` listed."""
    batch_size: int
    startup_s: float

    def candidate_spec(self, spec: CandidateSpec) -> CandidateSpec:
        """``spec`` pointed at this server, with ``batch_size`` requests in flight."""
        limits = spec.limits.model_copy(update={"concurrency": self.batch_size})
        return dataclasses.replace(
            spec, route=self.route, api_base=self.api_base, api_key_env=None, limits=limits
        )

    def died_error(self) -> ServerDiedError:
        """The error describing this server's exit."""
        return ServerDiedError(self.server.record())

    async def guard(self, work: Awaitable[T]) -> T:
        """Await ``work`` while watching the server; if it exits first, cancel ``work``.

        Raises:
            ServerDiedError: the server exited before ``work`` finished (or ``work`` failed
                after the server had exited).
        """
        task: asyncio.Future[T] = asyncio.ensure_future(work)
        watcher = asyncio.ensure_future(self._wait_exit())
        try:
            pending: set[asyncio.Future[Any]] = {task, watcher}
            await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
            watcher.cancel()
            with contextlib.suppress(BaseException):
                await watcher
        if task.cancelled() or self.server.returncode is not None:
            # Cancelled by the watcher, or finished against a server that had gone away
            # (its last items would be connection errors): either way the server died.
            exc = None if task.cancelled() else task.exception()
            died = self.died_error()
            died.summary = getattr(exc, "summary", None)  # what the runner had done, if known
            raise died from exc
        exc = task.exception()
        if exc is not None:
            raise exc
        return task.result()

    async def _wait_exit(self) -> int:
        while True:
            code = self.server.returncode
            if code is not None:
                return code
            await asyncio.sleep(POLL_S)


@contextlib.asynccontextmanager
async def serve_model(
    *,
    candidate: str,
    route: str | None,
    config: ServingConfig,
    log_dir: Path | None = None,
    port: int | None = None,
) -> AsyncIterator[ServedModel]:
    """Start the candidate's model server, wait until healthy, yield it, always stop it.

    Args:
        candidate: Candidate name (names the server in errors and the log file).
        route: The candidate's registered route; its model part names the served model
            unless ``config.served_model_name`` does.
        config: The candidate's serving settings.
        log_dir: Where the server log goes (default: a fresh temporary folder, kept).
        port: Port to use (default: a free loopback port).

    Raises:
        ServerStartError: the server did not start (log tail in the message).
    """
    names = served_names(config, candidate=candidate, route=route)
    route_model = names.route_model
    port = port or free_port(config.host)
    argv = build_command(config, names=names, port=port)
    folder = log_dir or Path(tempfile.mkdtemp(prefix="relitigate-server-"))
    log_path = folder / f"{_safe(candidate)}-{port}.log"
    started = time.monotonic()
    server = start_server(name=candidate, argv=argv, log_path=log_path, env=config.env)
    try:
        api_base = f"http://{_url_host(config.host)}:{port}/v1"
        ids = await wait_until_healthy(
            server,
            models_url=f"{api_base}/models",
            expect_model=route_model,
            timeout_s=config.startup_timeout_s,
        )
        yield ServedModel(
            server=server,
            route=f"{config.route_prefix}/{route_model}",
            api_base=api_base,
            model_ids=tuple(ids),
            batch_size=config.batch_size,
            startup_s=time.monotonic() - started,
        )
    finally:
        await stop_server(server, config.stop_grace_s)


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)[:80] or "server"


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


@dataclass(frozen=True, slots=True)
class ServedRun:
    """What :func:`run_served_candidate` returns."""

    summary: RunSummary
    """The API runner's summary (route and api_base of the server the worker started)."""
    throughput: ThroughputReport
    log_path: Path
    """The server's log, kept after it stopped."""
    server_pid: int
    """The server's pid and process-group id (the group is gone when this returns)."""
    startup_s: float
    """From starting the server until ``/v1/models`` answered."""


async def run_served_candidate(
    spec: CandidateSpec,
    config: ServingConfig,
    items: Iterable[EvalItem],
    *,
    scorer: Scorer,
    skip_keys: frozenset[str] | set[str] = frozenset(),
    sink: ResultSink,
    budget_usd: Decimal | float | None = None,
    progress: ProgressCallback | None = None,
    log_dir: Path | None = None,
) -> ServedRun:
    """Start the candidate's server, run the eval set through the API runner, stop it.

    Requests go to the server through :func:`tasks.evaluation.runner.run_candidate`, with
    ``config.batch_size`` in flight, exactly as for any API candidate.

    Raises:
        ServerStartError: the server did not come up (nothing was sent).
        ServerDiedError: the server exited mid-run (results so far are in the sink).
        EvaluationError: whatever the API runner raises.
    """
    from tasks.evaluation.runner import run_candidate

    async with serve_model(
        candidate=spec.name, route=spec.route, config=config, log_dir=log_dir
    ) as served:
        summary = await served.guard(
            run_candidate(
                served.candidate_spec(spec),
                items,
                scorer=scorer,
                skip_keys=skip_keys,
                sink=sink,
                budget_usd=budget_usd,
                progress=progress,
            )
        )
    pricing = spec.pricing
    report = measure_throughput(
        hardware=server_hardware(config.hardware),
        device="server",
        batch_size=config.batch_size,
        items=summary.items_done,
        output_tokens=summary.completion_tokens,
        wall_s=summary.wall_s,
        gpu_usd_per_hour=pricing.gpu_usd_per_hour if pricing else None,
        gpus=pricing.gpus if pricing else 1,
    )
    return ServedRun(
        summary=summary,
        throughput=report,
        log_path=served.server.log_path,
        server_pid=served.server.pid,
        startup_s=served.startup_s,
    )
