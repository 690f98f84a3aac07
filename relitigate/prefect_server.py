"""A local ``prefect server start``: on 127.0.0.1, in its own process group, stopped whole.

``relitigate serve`` runs one; the integration tests start theirs with it too. While it runs,
``serve`` leaves a marker in the data directory (:func:`write_serve_marker`), and a
``relitigate run`` without ``PREFECT_API_URL`` uses that server's API instead of starting
Prefect's temporary one (:func:`use_running_serve`: 10 to 20 s saved on a small machine).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from relitigate.prefect_env import apply_prefect_defaults
from tasks.processes import GroupProcess, free_port, read_log_tail, start_group

__all__ = [
    "LocalPrefectServer",
    "PrefectServerError",
    "free_port",
    "health_ok",
    "prefect_exe",
    "running_serve_api",
    "use_running_serve",
    "write_serve_marker",
]

SERVE_MARKER = "prefect-serve.json"
"""In the data directory while ``relitigate serve`` runs: its API URL and pid."""
REUSE_ENV = "RELITIGATE_REUSE_SERVE"
"""``0``: a ``run`` starts Prefect's temporary server even when ``serve`` is up."""


class PrefectServerError(Exception):
    """The local server could not start (port taken, exited, silent); exit code 2."""

    exit_code = 2


HEALTH_TIMEOUT_S = 90.0
"""How long :meth:`LocalPrefectServer.start` waits for ``/api/health`` by default."""
STOP_GRACE_S = 10.0
"""How long :meth:`LocalPrefectServer.stop` waits after SIGTERM before SIGKILL."""


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something already listens on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def health_ok(api_url: str) -> bool:
    """Whether ``GET {api_url}/health`` answers 200 now."""
    request = urllib.request.Request(f"{api_url}/health")
    try:
        with _no_proxy().open(request, timeout=2) as response:
            return int(response.status) == 200
    except (urllib.error.URLError, OSError, TimeoutError):
        return False


def _no_proxy() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class LocalPrefectServer:
    """``prefect server start`` on 127.0.0.1 in its own process group, output in a log file.

    ``database_url`` (``postgresql+asyncpg://...``) puts the server on PostgreSQL; default:
    SQLite under ``home``. Use as a context manager, or :meth:`start` / :meth:`stop`.
    """

    home: Path
    port: int
    database_url: str | None = None
    extra_env: Mapping[str, str] = field(default_factory=dict)
    host: str = "127.0.0.1"
    process: GroupProcess | None = None

    @property
    def api_url(self) -> str:
        """E.g. ``http://127.0.0.1:4200/api``."""
        return f"http://{self.host}:{self.port}/api"

    @property
    def log_path(self) -> Path:
        """Where the server writes its output."""
        return self.home / "server.log"

    @property
    def pid(self) -> int | None:
        """The server's pid (also its process group), once started."""
        return self.process.pid if self.process else None

    def env(self) -> dict[str, str]:
        """The server's environment: this one with relitigate's defaults
        (:mod:`relitigate.prefect_env`), its own home, no analytics, 127.0.0.1 only."""
        env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
        apply_prefect_defaults(env)
        env.update(
            PREFECT_HOME=str(self.home),
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_SERVER_API_HOST=self.host,
            PREFECT_SERVER_API_PORT=str(self.port),
        )
        if self.database_url:
            env["PREFECT_API_DATABASE_CONNECTION_URL"] = self.database_url
        env.update(self.extra_env)
        return env

    def start(self, timeout_s: float = HEALTH_TIMEOUT_S) -> None:
        """Start the server and wait until ``/api/health`` answers.

        Raises:
            PrefectServerError: the port is taken, or the server exits or stays silent (log tail).
        """
        if port_in_use(self.port, self.host):
            raise PrefectServerError(
                f"port {self.port} on {self.host} is already in use; pick another with --port"
            )
        argv = [prefect_exe(), "server", "start", "--host", self.host, "--port",
                str(self.port)]  # fmt: skip
        self.process = start_group(argv, log_path=self.log_path, env=self.env())
        deadline = time.monotonic() + timeout_s
        while not health_ok(self.api_url):
            code = self.process.returncode
            if code is not None or time.monotonic() > deadline:
                why = f"exited with code {code}" if code is not None else "did not answer"
                self.stop()
                raise PrefectServerError(
                    f"the Prefect server on {self.host}:{self.port} {why} within "
                    f"{timeout_s:g} s; log {self.log_path}:\n{self.log_tail()}"
                )
            time.sleep(0.25)

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the server's log."""
        return read_log_tail(self.log_path, lines=lines)

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """Stop the whole process group: SIGTERM, ``grace_s`` seconds, then SIGKILL."""
        if self.process is not None:
            self.process.stop(grace_s)

    def __enter__(self) -> LocalPrefectServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def prefect_exe() -> str:
    """The ``prefect`` command of this interpreter's environment (else from ``PATH``)."""
    candidate = Path(sys.executable).with_name("prefect")
    return str(candidate) if candidate.is_file() else "prefect"


def write_serve_marker(data_dir: Path, api_url: str) -> Path:
    """Say that this process serves ``api_url`` (removed with :func:`remove_serve_marker`)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / SERVE_MARKER
    path.write_text(json.dumps({"api_url": api_url, "pid": os.getpid()}), encoding="utf-8")
    return path


def remove_serve_marker(data_dir: Path) -> None:
    """Remove this process's marker (another process's stays)."""
    path = data_dir / SERVE_MARKER
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def running_serve_api(data_dir: Path) -> str | None:
    """The API URL of a ``relitigate serve`` running now for ``data_dir``: its marker names
    a live process and a 127.0.0.1 API that answers ``/health``; else None."""
    try:
        marker = json.loads((data_dir / SERVE_MARKER).read_text(encoding="utf-8"))
        api_url, pid = str(marker["api_url"]), int(marker["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not api_url.startswith("http://127.0.0.1:"):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:  # alive, another user's
        pass
    return api_url if health_ok(api_url) else None


def use_running_serve(data_dir: Path, environ: dict[str, str] | None = None) -> str | None:
    """Point this process at a running ``relitigate serve`` (sets ``PREFECT_API_URL``) when
    none is configured; returns the URL used, or None. Call before Prefect is imported."""
    env: Any = os.environ if environ is None else environ
    if env.get("PREFECT_API_URL") or env.get(REUSE_ENV) == "0":
        return None
    api_url = running_serve_api(data_dir)
    if api_url is not None:
        env["PREFECT_API_URL"] = api_url
    return api_url
