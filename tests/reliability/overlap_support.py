"""Scenario and process helpers for the overlapping-runs tests.

One workload (``triage``): a fine-tune (``ft-good``) and one buy alternative (``frontier``)
on the provider simulator. With ``flaky`` the buy side errors on most requests and is called
one item at a time (``concurrency: 1``), so the simulator draws its errors in the same order
whichever process calls it: a single run and two overlapping runs see the same errors, and
any difference between them comes from relitigate, not from chance.

Each ``relitigate run`` is a real process with its own ``PREFECT_HOME`` (so its own temporary
Prefect API, as on two machines), its own data directory unless told otherwise, a shared
registry, and short lease and cooldown settings.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[2]
ITEMS = 220
QUARTER = "2026Q1"
FLAKY_ERROR_RATE = 0.65
"""Per request; with two attempts and one retry pass an item stays errored with probability
0.65**4 = 18%: well over the 5% a verdict allows, so a single run is ``inconclusive``."""


def profile(*, flaky: bool, latency_ms: float = 5) -> dict[str, Any]:
    """The simulator profile: a fine-tune and a frontier model. Flaky: the frontier model,
    better than the fine-tune on the items it answers, fails most requests, so its errored
    items decide the verdict (``inconclusive``); else the fine-tune holds (``keep``)."""
    return {
        "seed": 11,
        "models": [
            {"name": "ft-good", "accuracy": 0.85 if flaky else 0.97,
             "latency": {"fixed_ms": latency_ms}},
            {"name": "frontier", "accuracy": 0.95, "latency": {"fixed_ms": latency_ms},
             "error_rate": FLAKY_ERROR_RATE if flaky else 0.0},
        ],
    }  # fmt: skip


def write_evalset(path: Path) -> Path:
    """``ITEMS`` items whose targets the simulator knows."""
    path.write_text(
        "".join(
            json.dumps({"id": f"t-{i:04d}", "input": f"ticket {i}: which queue?",
                        "target": f"q{i % 5}"}) + "\n"
            for i in range(ITEMS)
        ),
        encoding="utf-8",
    )  # fmt: skip
    return path


def write_workloads(folder: Path, evalset: Path, api_base: str, *, flaky: bool) -> Path:
    """The workloads file for one simulator."""

    def candidate(name: str, model: str, price: float, concurrency: int) -> dict[str, Any]:
        return {
            "name": name, "route": f"openai/{model}", "api_base": api_base,
            "params": {"max_tokens": 8},
            "pricing": {"input_per_mtok": price, "output_per_mtok": 3 * price},
            "limits": {"concurrency": concurrency, "max_attempts": 2, "timeout_s": 10},
        }  # fmt: skip

    data = {
        "version": 1,
        "workloads": [
            {
                "name": "triage",
                "owner": {"email": "triage@example.com"},
                "case": "cost_distillation",
                "volume_per_day": 20_000_000,
                "fixed_costs_monthly_usd": 1000,
                "adopted": "2025Q4",
                "eval_set": {"path": str(evalset), "scorer": {"kind": "exact"}},
                "fine_tune": candidate("ft", "ft-good", 0.05, 8),
                "buy": [candidate("frontier", "frontier", 0.5, 1 if flaky else 8)],
            }
        ],
    }
    path = folder / "relitigate.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def sync(url: str, workloads_file: Path) -> None:
    """``relitigate sync`` into the registry at ``url`` (in this process)."""
    from registry.db import make_engine, session_factory
    from registry.sync import sync_workloads

    engine = make_engine(url)
    try:
        with session_factory(engine).begin() as session:
            sync_workloads(session, workloads_file)
    finally:
        engine.dispose()


def run_env(url: str, home: Path, data: Path, **extra: str) -> dict[str, str]:
    """The environment of one ``relitigate run`` process."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("RELITIGATE_", "PREFECT_")) or k == "RELITIGATE_TEST_REQUIRE_POSTGRES"
    }
    env.update(
        RELITIGATE_DATABASE_URL=url,
        RELITIGATE_DATA_DIR=str(data),
        RELITIGATE_LEASE_TTL_S="3",
        RELITIGATE_LEASE_HEARTBEAT_S="0.5",
        RELITIGATE_LEASE_WAIT_S="240",
        RELITIGATE_RETRY_COOLDOWN_S="0.2",
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        LITELLM_OFFLINE_MODE="true",
        NO_PROXY="127.0.0.1,localhost",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@dataclass
class RunProcess:
    """One ``relitigate run --quarter QUARTER`` process, its output in a log file."""

    popen: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def start(cls, env: dict[str, str], log: Path, *args: str) -> RunProcess:
        """Start it in a process group of its own (its Prefect API server included)."""
        argv = [sys.executable, "-m", "relitigate", "run", "--quarter", QUARTER, *args]
        with log.open("wb") as out:
            popen = subprocess.Popen(
                argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        return cls(popen, log)

    def text(self) -> str:
        """Everything it printed so far."""
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait(self, timeout: float = 240) -> int:
        """Its exit code (killed with its group after ``timeout``)."""
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"relitigate run did not finish:\n{self.text()[-3000:]}") from None

    def kill(self) -> None:
        """SIGKILL the whole group, as the OOM killer or a node loss would."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait()


def wait_until(check: Callable[[], bool], what: str, timeout: float = 180) -> None:
    """Poll ``check`` every 50 ms until it holds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def registry_state(url: str) -> dict[str, Any]:
    """Decisions, notices and per-candidate run figures (errored items, attempts) at ``url``."""
    from registry.db import make_engine, session_factory
    from registry.models import Candidate, Decision, ItemResult, Notice, Run

    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            decisions = [
                (d.quarter, d.verdict.value, d.revision) for d in session.scalars(select(Decision))
            ]
            notices = [(n.quarter, n.kind.value) for n in session.scalars(select(Notice))]
            runs: dict[str, dict[str, Any]] = {}
            for run, name in session.execute(
                select(Run, Candidate.name).join(Candidate, Run.candidate_id == Candidate.id)
            ):
                errored, attempts = session.execute(
                    select(
                        func.count(ItemResult.error),
                        func.coalesce(func.sum(ItemResult.attempts), 0),
                    ).where(ItemResult.run_id == run.id)
                ).one()
                runs[name] = {
                    "attempt": run.attempt, "status": run.status.value,
                    "retry_passes": run.retry_passes, "errored": int(errored),
                    "attempts": int(attempts),
                }  # fmt: skip
            return {"decisions": decisions, "notices": notices, "runs": runs}
    finally:
        engine.dispose()
