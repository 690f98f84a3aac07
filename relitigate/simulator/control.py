"""Start and stop the simulator: in-process on a background thread, or as a subprocess.

Both are context managers yielding an object with ``base_url`` (``http://127.0.0.1:PORT/v1``,
what a candidate's ``api_base`` should be) and helpers for the stats and control routes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from relitigate.simulator.evalsets import ItemIndex, load_evalsets
from relitigate.simulator.profile import Profile, load_profile
from relitigate.simulator.server import SimulatorApp, check_loopback, start_site


class _Client(ABC):
    """Start, stop, stats and control calls shared by both ways of running the simulator."""

    host: str
    port: int

    @abstractmethod
    def start(self) -> Self:
        """Start serving; returns once the simulator listens."""

    @abstractmethod
    def stop(self) -> None:
        """Stop serving."""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible API base, ``http://127.0.0.1:PORT/v1``."""
        return f"{self.root_url}/v1"

    def _call(self, path: str, method: str = "GET") -> dict[str, Any]:
        req = urllib.request.Request(
            self.root_url + path, method=method, data=b"" if method == "POST" else None
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            data: dict[str, Any] = json.loads(resp.read())
        return data

    def stats(self) -> dict[str, Any]:
        """``GET /stats``."""
        return self._call("/stats")

    def model_stats(self, model: str) -> dict[str, int]:
        """The counters of one model."""
        counters: dict[str, int] = self.stats()["models"][model]
        return counters

    def reset_stats(self) -> dict[str, Any]:
        """``POST /stats/reset``."""
        return self._call("/stats/reset", "POST")

    def pause(self) -> None:
        """Hold every reply until :meth:`resume`."""
        self._call("/control/pause", "POST")

    def resume(self) -> None:
        """Release held replies."""
        self._call("/control/resume", "POST")


def _as_profile(profile: Profile | str | Path) -> Profile:
    return profile if isinstance(profile, Profile) else load_profile(profile)


def _as_index(evalsets: ItemIndex | Iterable[str | Path]) -> ItemIndex:
    return evalsets if isinstance(evalsets, ItemIndex) else load_evalsets(evalsets)


class SimulatorServer(_Client):
    """The simulator on a background thread of this process (for tests and demos).

    Example::

        with SimulatorServer(profile, ["evals/triage.jsonl"]) as sim:
            spec = CandidateSpec(name="ft", route="openai/ft-sim", api_base=sim.base_url)
    """

    def __init__(
        self,
        profile: Profile | str | Path,
        evalsets: ItemIndex | Iterable[str | Path] = (),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        check_loopback(host)
        self.host, self.port = host, port
        self.app = SimulatorApp(_as_profile(profile), _as_index(evalsets))
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self) -> Self:
        """Start serving; returns once the port is bound."""
        self._thread = threading.Thread(target=self._run, name="relitigate-simulator", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._ready.set()
        finally:
            loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        self.app.resumed = asyncio.Event()
        self.app.resumed.set()
        runner, self.port = await start_site(self.app, self.host, self.port)
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await runner.cleanup()

    def stop(self) -> None:
        """Stop serving and join the thread."""
        if self._loop is not None and self._stop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(30)
            self._thread = None


class SimulatorProcess(_Client):
    """The simulator in a child process (its own CPU; for benchmarks and kill tests)."""

    def __init__(
        self,
        profile: str | Path,
        evalsets: Sequence[str | Path] = (),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        check_loopback(host)
        self.host, self.port = host, port
        self.args = [
            sys.executable,
            "-m",
            "relitigate.simulator",
            "--profile",
            str(profile),
            "--host",
            host,
            "--port",
            str(port),
        ]
        for path in evalsets:
            self.args += ["--evalset", str(path)]
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> Self:
        """Start the child; returns once it prints the URL it listens on."""
        self.proc = subprocess.Popen(
            self.args,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("relitigate simulator listening on "):
            self.stop()
            raise RuntimeError(f"simulator did not start: {line!r}")
        self.port = int(line.rsplit(":", 1)[1].split("/")[0])
        return self

    def stop(self) -> None:
        """Terminate the child."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            if self.proc.stdout is not None:
                self.proc.stdout.close()
            self.proc = None


async def serve_forever(profile: Profile, index: ItemIndex, *, host: str, port: int) -> None:
    """Serve until SIGINT/SIGTERM, announcing ``listening on URL`` on stdout."""
    app = SimulatorApp(profile, index)
    runner, bound = await start_site(app, host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"relitigate simulator listening on http://{host}:{bound}/v1", flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def serve(
    profile_path: str | Path,
    evalsets: Sequence[str | Path],
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
) -> None:
    """Blocking entry point of ``relitigate sim serve`` and ``python -m relitigate.simulator``."""
    check_loopback(host)
    profile = load_profile(profile_path)
    index = load_evalsets(evalsets)
    asyncio.run(serve_forever(profile, index, host=host, port=port))
