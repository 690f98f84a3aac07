"""Model-server process: its command line, start, health wait, log tail and stop.

A self-hosted candidate's server (vLLM, SGLang, TGI... from a command template) runs in its
own session (process group) with stdout and stderr appended to a log file;
:func:`start_server` starts it, :func:`wait_until_healthy` polls ``GET /v1/models`` until it
answers, and :meth:`ServerProcess.stop` (or :func:`stop_server` from async code) stops the
whole group: SIGTERM, a grace period, then SIGKILL. A server that does not come up is a
:class:`~tasks.gpu.errors.ServerStartError` carrying the tail of its log.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from tasks.gpu.config import ServedNames, ServingConfig, python_executable
from tasks.gpu.errors import ServerRecord, ServerStartError
from tasks.processes import LOG_TAIL_LINES, GroupProcess, read_log_tail, start_group

POLL_S = 0.2
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


@dataclass
class ServerProcess:
    """A model server started in its own process group, its output going to ``log_path``."""

    name: str
    process: GroupProcess

    @property
    def argv(self) -> list[str]:
        """The server's command line."""
        return self.process.argv

    @property
    def log_path(self) -> Path:
        """Where the server's output goes (kept after it stops)."""
        return self.process.log_path

    @property
    def pid(self) -> int:
        """The server's pid, which is also its process-group id."""
        return self.process.pid

    @property
    def command(self) -> str:
        """The command line, quoted for a shell."""
        return shlex.join(self.argv)

    @property
    def returncode(self) -> int | None:
        """The exit code, or None while it runs."""
        return self.process.returncode

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last lines the server wrote."""
        return self.process.log_tail(lines)

    def group_alive(self) -> bool:
        """Whether any process of the server's group still exists."""
        return self.process.group_alive()

    def record(self) -> ServerRecord:
        """The server as its errors describe it, with its exit code and log tail now."""
        return ServerRecord(
            self.name, self.command, self.returncode, self.log_path, self.log_tail()
        )

    def stop(self, grace_s: float) -> int | None:
        """Stop the whole process group: SIGTERM, up to ``grace_s`` seconds, then SIGKILL.

        Blocking; safe to call more than once. Returns the leader's exit code.
        """
        return self.process.stop(grace_s)


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
    full_env = {**os.environ, **DEFAULT_SERVER_ENV, **(env or {})}
    try:
        process = start_group(argv, log_path=log_path, env=full_env)
    except OSError as exc:
        record = ServerRecord(
            name, shlex.join(argv), None, log_path, read_log_tail(log_path, lines=LOG_TAIL_LINES)
        )
        reason = f"cannot execute {argv[0]!r}: {exc.strerror or exc}"
        raise ServerStartError(record, reason=reason) from exc
    return ServerProcess(name=name, process=process)


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
            await asyncio.sleep(POLL_S)


def _model_ids(response: httpx.Response) -> list[str]:
    try:
        data = response.json().get("data", [])
        return [str(entry["id"]) for entry in data if isinstance(entry, dict) and "id" in entry]
    except (ValueError, AttributeError):
        return []


def _start_error(server: ServerProcess, reason: str) -> ServerStartError:
    return ServerStartError(server.record(), reason=reason)


async def stop_server(server: ServerProcess, grace_s: float) -> None:
    """Run :meth:`ServerProcess.stop` in a thread; if cancelled meanwhile, SIGKILL the group."""
    stopping = asyncio.ensure_future(asyncio.to_thread(server.stop, grace_s))
    try:
        await asyncio.shield(stopping)
    except asyncio.CancelledError:
        # Cancelled while stopping: finish the job now, without the grace period.
        server.process.kill()
        raise
