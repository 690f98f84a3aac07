"""Processes for the distributed test (a Prefect server, a worker, the deploy command), and
what the Prefect API and the registry hold after a run.

Each runs in its own process group with its output in a log file, and is stopped (SIGTERM,
then SIGKILL) with its whole group. Every Prefect process gets its own ``PREFECT_HOME`` and
analytics off; only 127.0.0.1 is ever a target.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

REPO_ROOT = Path(__file__).resolve().parents[2]


def cli_argv(*args: str) -> list[str]:
    """The argv of ``relitigate ARGS`` in this interpreter."""
    return [sys.executable, "-m", "relitigate", *args]


def prefect_env(home: Path, api_url: str | None = None, **extra: str) -> dict[str, str]:
    """This environment minus relitigate's and Prefect's settings, plus a Prefect of its own."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("RELITIGATE_", "PREFECT_")) or k == "RELITIGATE_TEST_REQUIRE_POSTGRES"
    }
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        LITELLM_OFFLINE_MODE="true",
        NO_PROXY="127.0.0.1,localhost",
    )
    if api_url:
        env["PREFECT_API_URL"] = api_url
    env.update(extra)
    return env


@dataclass
class Background:
    """A subprocess in its own process group, output appended to ``log_path``."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    _log: IO[bytes]

    @classmethod
    def start(
        cls, name: str, argv: Sequence[str], *, env: Mapping[str, str], log_path: Path,
        cwd: Path = REPO_ROOT,
    ) -> Background:  # fmt: skip
        """Start ``argv`` in a new session."""
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = log_path.open("ab")
        popen = subprocess.Popen(
            list(argv), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        return cls(name, popen, log_path, log)

    def log_tail(self, lines: int = 40) -> str:
        """The last lines it wrote."""
        with contextlib.suppress(ValueError, OSError):
            self._log.flush()
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        return f"--- {self.name} ({self.log_path}) ---\n" + "\n".join(text.splitlines()[-lines:])

    def stop(self, grace_s: float = 10.0) -> None:
        """SIGTERM the group, wait ``grace_s``, then SIGKILL; reap the leader."""
        pgid = self.popen.pid
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and group_alive(pgid):
            self.popen.poll()
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        self.popen.wait()
        self._log.close()


def group_alive(pgid: int) -> bool:
    """Whether any process of group ``pgid`` exists that is not a zombie."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def descendants(pid: int) -> set[int]:
    """Every living process below ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pids: set[int]) -> set[int]:
    """Those of ``pids`` still running (zombies count as gone)."""
    living = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z":
            living.add(pid)
    return living


async def benchmark_flow_runs() -> list[Any]:
    from prefect import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

    async with get_client() as client:
        return await client.read_flow_runs(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["gpu"]))
        )


async def workload_limits() -> list[Any]:
    from prefect import get_client

    async with get_client() as client:
        limits = await client.read_global_concurrency_limits(limit=50)
    return [limit for limit in limits if limit.name.startswith("workload:")]


def registry_state(url: str) -> dict[str, Any]:
    from sqlalchemy import func, select

    from registry.db import make_engine, session_factory
    from registry.models import Candidate, Decision, ItemResult, Notice, Run

    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            counts = {
                m.__tablename__: int(session.scalar(select(func.count()).select_from(m)) or 0)
                for m in (Decision, Notice, Run, ItemResult)
            }
            runs = {
                name: (run.status.value, dict(run.stats or {}), run.model_version)
                for run, name in session.execute(
                    select(Run, Candidate.name).join(Candidate, Run.candidate_id == Candidate.id)
                )
            }
            decisions = [(d.quarter, d.verdict.value) for d in session.scalars(select(Decision))]
            return {"counts": counts, "runs": runs, "decisions": decisions}
    finally:
        engine.dispose()
