"""Served runner: bring a self-hosted candidate's model server up, hand back its route, stop it.

The eval set goes through the same API runner as every other candidate; this module only
owns the server's life::

    async with serve_model(candidate=spec.name, route=spec.route, config=cfg) as served:
        summary = await served.guard(run_candidate(served.candidate_spec(spec), items, ...))

The server runs in its own session (process group) with its output in a log file. Leaving
the ``async with`` block (normally, on an error or on cancellation) stops the whole group:
SIGTERM, a grace period, then SIGKILL. :meth:`ServedModel.guard` turns a server that exits
mid-run into :class:`~tasks.gpu.errors.ServerDiedError` at once instead of a run that
retries a dead port.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import shlex
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, TypeVar

import httpx

from tasks.evaluation.types import (
    CandidateSpec,
    EvalItem,
    ProgressCallback,
    ResultSink,
    RunSummary,
    Scorer,
)
from tasks.gpu.config import ServedNames, ServingConfig, python_executable, served_names
from tasks.gpu.errors import ServerDiedError, ServerStartError
from tasks.gpu.hardware import server_hardware
from tasks.gpu.throughput import ThroughputReport, measure_throughput

T = TypeVar("T")

LOG_TAIL_LINES = 40
_POLL_S = 0.2
DEFAULT_SERVER_ENV: Mapping[str, str] = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def build_command(
    config: ServingConfig, *, names: ServedNames, port: int, python: str | None = None
) -> list[str]:
    """The server's argv: ``command``, then ``adapter_args`` (if an adapter), then extras.

    Each template is split like a shell line first and filled in after, so a value with
    spaces stays one argument.
    """
    values = {
        "python": python or python_executable(),
        "model": config.model,
        "host": config.host,
        "port": str(port),
        "served_model_name": names.base,
        "adapter": config.adapter or "",
        "adapter_name": names.adapter or "",
        "batch_size": str(config.batch_size),
    }
    argv = [part.format(**values) for part in shlex.split(config.command)]
    if config.adapter:
        argv += [part.format(**values) for part in shlex.split(config.adapter_args)]
    argv += [arg.format(**values) for arg in config.extra_args]
    return argv


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on ``host`` a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def read_log_tail(path: Path, *, lines: int = LOG_TAIL_LINES, max_bytes: int = 64_000) -> str:
    """The last ``lines`` lines of a log file ('' when it does not exist)."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - max_bytes))
            data = fh.read()
    except FileNotFoundError:
        return ""
    return "\n".join(data.decode("utf-8", errors="replace").splitlines()[-lines:])


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's group reused the id
        return False
    return True


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


@dataclass
class ServerProcess:
    """A model server started in its own process group, its output going to ``log_path``."""

    name: str
    argv: list[str]
    log_path: Path
    popen: subprocess.Popen[bytes]
    _log: IO[bytes] | None = None

    @property
    def pid(self) -> int:
        """The server's pid, which is also its process-group id."""
        return self.popen.pid

    @property
    def command(self) -> str:
        """The command line, quoted for a shell."""
        return shlex.join(self.argv)

    @property
    def returncode(self) -> int | None:
        """The exit code, or None while it runs."""
        return self.popen.poll()

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last lines the server wrote."""
        if self._log is not None:
            with contextlib.suppress(ValueError, OSError):
                self._log.flush()
        return read_log_tail(self.log_path, lines=lines)

    def group_alive(self) -> bool:
        """Whether any process of the server's group still exists."""
        return _group_alive(self.pid)

    def stop(self, grace_s: float) -> int | None:
        """Stop the whole process group: SIGTERM, up to ``grace_s`` seconds, then SIGKILL.

        Blocking; safe to call more than once. Returns the leader's exit code.
        """
        pgid = self.pid
        if self.popen.poll() is None or _group_alive(pgid):
            _signal_group(pgid, signal.SIGTERM)
            deadline = time.monotonic() + grace_s
            while time.monotonic() < deadline:
                if self.popen.poll() is not None and not _group_alive(pgid):
                    break
                time.sleep(0.05)
            if self.popen.poll() is None or _group_alive(pgid):
                _signal_group(pgid, signal.SIGKILL)
        code = self.popen.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        return code


def start_server(
    *,
    name: str,
    argv: Sequence[str],
    log_path: Path,
    env: Mapping[str, str] | None = None,
) -> ServerProcess:
    """Start ``argv`` in a new session with stdout and stderr appended to ``log_path``.

    Raises:
        ServerStartError: the executable does not exist or cannot run.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("ab")
    full_env = {**os.environ, **DEFAULT_SERVER_ENV, **(env or {})}
    try:
        popen = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=full_env,
            start_new_session=True,
        )
    except OSError as exc:
        log.close()
        raise ServerStartError(
            server=name,
            command=shlex.join(argv),
            reason=f"cannot execute {argv[0]!r}: {exc.strerror or exc}",
            returncode=None,
            log_path=log_path,
            log_tail=read_log_tail(log_path),
        ) from exc
    return ServerProcess(name=name, argv=list(argv), log_path=log_path, popen=popen, _log=log)


async def wait_until_healthy(
    server: ServerProcess,
    *,
    models_url: str,
    expect_model: str | None,
    timeout_s: float,
) -> list[str]:
    """Poll ``GET models_url`` until it answers 200, the server exits, or time runs out.

    Returns:
        The model ids the server lists.

    Raises:
        ServerStartError: exit during start-up, timeout, or ``expect_model`` not listed.
    """
    deadline = time.monotonic() + timeout_s
    last_problem = "no answer yet"
    async with httpx.AsyncClient(timeout=httpx.Timeout(5.0), trust_env=False) as client:
        while True:
            code = server.returncode
            if code is not None:
                raise _start_error(server, f"the server exited with code {code} while starting")
            try:
                response = await client.get(models_url)
            except httpx.HTTPError as exc:
                last_problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            else:
                if response.status_code == 200:
                    ids = _model_ids(response)
                    if expect_model is not None and expect_model not in ids:
                        raise _start_error(
                            server,
                            f"it answers but does not serve model {expect_model!r} (it lists "
                            f"{ids}); set serving.served_model_name or fix the route",
                        )
                    return ids
                last_problem = f"HTTP {response.status_code}"
            if time.monotonic() >= deadline:
                raise _start_error(
                    server,
                    f"GET {models_url} did not answer within {timeout_s:g} s "
                    f"(last: {last_problem})",
                )
            await asyncio.sleep(_POLL_S)


def _model_ids(response: httpx.Response) -> list[str]:
    try:
        data = response.json().get("data", [])
        return [str(entry["id"]) for entry in data if isinstance(entry, dict) and "id" in entry]
    except (ValueError, AttributeError):
        return []


def _start_error(server: ServerProcess, reason: str) -> ServerStartError:
    return ServerStartError(
        server=server.name,
        command=server.command,
        reason=reason,
        returncode=server.returncode,
        log_path=server.log_path,
        log_tail=server.log_tail(),
    )


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
        limits = dataclasses.replace(spec.limits, concurrency=self.batch_size)
        return dataclasses.replace(
            spec, route=self.route, api_base=self.api_base, api_key_env=None, limits=limits
        )

    def died_error(self) -> ServerDiedError:
        """The error describing this server's exit."""
        return ServerDiedError(
            server=self.server.name,
            command=self.server.command,
            returncode=self.server.returncode,
            log_path=self.server.log_path,
            log_tail=self.server.log_tail(),
        )

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
            await asyncio.sleep(_POLL_S)


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
        await _stop(server, config.stop_grace_s)


async def _stop(server: ServerProcess, grace_s: float) -> None:
    stopping = asyncio.ensure_future(asyncio.to_thread(server.stop, grace_s))
    try:
        await asyncio.shield(stopping)
    except asyncio.CancelledError:
        # Cancelled while stopping: finish the job now, without the grace period.
        _signal_group(server.pid, signal.SIGKILL)
        server.popen.wait()
        raise


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
