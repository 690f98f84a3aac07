"""A child process in a process group of its own, its output in a log file, stopped whole.

Servers relitigate starts (the local Prefect server, a self-hosted model's vLLM/TGI server)
spawn workers of their own; stopping only the leader would leave them running. So each is
started in a new session (``start_new_session``: its pid is its process-group id), and
:meth:`GroupProcess.stop` signals the whole group: SIGTERM, a grace period, then SIGKILL.

Standard library only, so both the front door and the GPU engine may import it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

LOG_TAIL_LINES = 40
"""Lines of a log that :meth:`GroupProcess.log_tail` returns by default."""


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


def group_alive(pgid: int) -> bool:
    """Whether any process of group ``pgid`` still exists (an unreaped leader counts)."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        # PermissionError: the id now belongs to someone else's group.
        return False
    return True


def signal_group(pgid: int, sig: signal.Signals) -> None:
    """Send ``sig`` to group ``pgid``; a group that is gone already is not an error."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


@dataclass
class GroupProcess:
    """A process started by :func:`start_group`: the leader of its own process group."""

    argv: list[str]
    log_path: Path
    popen: subprocess.Popen[bytes]
    _log: IO[bytes] | None = None

    @property
    def pid(self) -> int:
        """The leader's pid, which is also the process-group id."""
        return self.popen.pid

    @property
    def returncode(self) -> int | None:
        """The leader's exit code, or None while it runs."""
        return self.popen.poll()

    def group_alive(self) -> bool:
        """Whether any process of the group still exists."""
        return group_alive(self.pid)

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last lines the process wrote."""
        if self._log is not None:
            with contextlib.suppress(ValueError, OSError):
                self._log.flush()
        return read_log_tail(self.log_path, lines=lines)

    def stop(self, grace_s: float) -> int | None:
        """Stop the whole group: SIGTERM, up to ``grace_s`` seconds, then SIGKILL.

        Blocking; safe to call more than once. Returns the leader's exit code.
        """
        pgid = self.pid
        if self.popen.poll() is None or group_alive(pgid):
            signal_group(pgid, signal.SIGTERM)
            deadline = time.monotonic() + grace_s
            while time.monotonic() < deadline:
                if self.popen.poll() is not None and not group_alive(pgid):
                    break
                time.sleep(0.05)
            if self.popen.poll() is None or group_alive(pgid):
                signal_group(pgid, signal.SIGKILL)
        return self._reap()

    def kill(self) -> int | None:
        """SIGKILL the whole group at once and reap the leader."""
        signal_group(self.pid, signal.SIGKILL)
        return self._reap()

    def _reap(self) -> int | None:
        code = self.popen.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        return code


def start_group(argv: Sequence[str], *, log_path: Path, env: Mapping[str, str]) -> GroupProcess:
    """Start ``argv`` in a new session, stdin closed, stdout and stderr appended to ``log_path``.

    Raises:
        OSError: the executable does not exist or cannot run (the log file is closed).
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("ab")
    try:
        popen = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env),
            start_new_session=True,
        )
    except OSError:
        log.close()
        raise
    return GroupProcess(argv=list(argv), log_path=log_path, popen=popen, _log=log)
