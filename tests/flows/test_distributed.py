"""Distributed, for real: the quarter fans the fine-tune's benchmark out to a worker.

Everything is a real process on 127.0.0.1: a Prefect server on its own PostgreSQL database;
``relitigate deploy --gpu-pool-type process`` creating the pools and applying
``deployments/prefect.yaml``; a process worker on ``relitigate-gpu`` standing in for the GPU
pool; a PostgreSQL registry. The workload's fine-tune is self-hosted (runner ``vllm``): its
serving command starts the provider simulator as the model server, inside the worker's flow
run. The buy alternative is an API route to a simulator in this process. The quarter runs
here with ``RELITIGATE_GPU_DEPLOYMENT=benchmark-candidate/gpu``.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.flows.distributed_support import (
    REPO_ROOT,
    Background,
    benchmark_flow_runs,
    cli_argv,
    prefect_env,
    registry_state,
    workload_limits,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ITEMS = 220
QUARTER = "2026Q4"
GPU_DEPLOYMENT = "benchmark-candidate/gpu"
PROFILE = {
    "seed": 5,
    "models": [
        {"name": "ft-served", "version": "ft-served-v7", "accuracy": 0.97,
         "latency": {"fixed_ms": 2}},
        {"name": "frontier-good", "accuracy": 0.92, "latency": {"fixed_ms": 2}},
    ],
}  # fmt: skip


def _write_files(folder: Path) -> tuple[Path, Path]:
    evalset = folder / "triage.jsonl"
    evalset.write_text(
        "".join(
            json.dumps({"id": f"t-{i:04d}", "input": f"ticket {i}: which queue?",
                        "target": f"q{i % 5}"}) + "\n"
            for i in range(ITEMS)
        ),
        encoding="utf-8",
    )  # fmt: skip
    profile = folder / "profile.json"
    profile.write_text(json.dumps(PROFILE), encoding="utf-8")
    return profile, evalset


def _workloads(profile: Path, evalset: Path, buy_api_base: str) -> dict[str, Any]:
    serve_sim = (
        f"{{python}} -m relitigate.simulator --profile {profile} --evalset {evalset} "
        "--host {host} --port {port}"
    )
    return {
        "version": 1,
        "workloads": [
            {
                "name": "triage",
                "owner": {"email": "triage@example.com", "slack_channel": "#triage"},
                "case": "cost_distillation",
                "volume_per_day": 20_000_000,
                "fixed_costs_monthly_usd": 1000,
                "adopted": "2025Q4",
                "eval_set": {"path": str(evalset), "scorer": {"kind": "exact"}},
                "fine_tune": {
                    "name": "ft",
                    "runner": "vllm",
                    "route": "hosted_vllm/ft-served",
                    "params": {"max_tokens": 8},
                    "pricing": {"gpu_hourly_usd": 2.5, "gpus": 1},
                    "serving": {
                        "model": "/models/ft-served",
                        "command": serve_sim,
                        "batch_size": 8,
                        "startup_timeout_s": 60,
                        "stop_grace_s": 5,
                    },
                },
                "buy": [
                    {
                        "name": "frontier",
                        "route": "openai/frontier-good",
                        "api_base": buy_api_base,
                        "params": {"max_tokens": 8},
                        "pricing": {"input_per_mtok": 0.5, "output_per_mtok": 1.5},
                        "limits": {"concurrency": 16, "max_attempts": 3, "timeout_s": 10},
                    }
                ],
            }
        ],
    }


@pytest.fixture
def registry_url(postgres_db: Callable[[], str]) -> str:
    """A fresh PostgreSQL registry at the newest schema."""
    from registry.db import upgrade_to_head

    url = postgres_db()
    upgrade_to_head(url)
    return url


@pytest.fixture
def worker(prefect_pg_server: Any, registry_url: str, tmp_path: Path) -> Iterator[Background]:
    """``prefect worker start`` on the stand-in GPU pool, after ``relitigate deploy``."""
    api_url = prefect_pg_server.api_url
    deploy = subprocess.run(
        cli_argv("deploy", "--gpu-pool-type", "process"),
        cwd=REPO_ROOT,
        env=prefect_env(tmp_path / "deploy-home", api_url),
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert deploy.returncode == 0, deploy.stdout[-3000:] + deploy.stderr[-3000:]
    env = prefect_env(
        tmp_path / "worker-home",
        api_url,
        # What the worker's flow runs need; none of it is stored in the Prefect API.
        RELITIGATE_DATABASE_URL=registry_url,
        RELITIGATE_DATA_DIR=str(tmp_path / "worker-data"),
        RELITIGATE_HOME=str(REPO_ROOT),
        PREFECT_WORKER_QUERY_SECONDS="1",
        PREFECT_WORKER_HEARTBEAT_SECONDS="5",
    )
    argv = [str(Path(sys.executable).with_name("prefect")), "worker", "start",
            "--pool", "relitigate-gpu", "--type", "process", "--name", "gpu-stand-in"]  # fmt: skip
    proc = Background.start("worker", argv, env=env, log_path=tmp_path / "worker.log")
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def scenario(
    worker: Background,
    prefect_pg_server: Any,
    registry_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[dict[str, Any]]:
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_HOME,
        PREFECT_SERVER_ANALYTICS_ENABLED,
        temporary_settings,
    )

    from registry.sync import sync_workloads
    from relitigate.simulator import Profile, SimulatorServer
    from tasks.context import opened

    profile, evalset = _write_files(tmp_path)
    monkeypatch.setenv("RELITIGATE_DATABASE_URL", registry_url)
    monkeypatch.setenv("RELITIGATE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RELITIGATE_GPU_DEPLOYMENT", GPU_DEPLOYMENT)
    monkeypatch.delenv("RELITIGATE_SLACK_TOKEN", raising=False)
    settings = {
        PREFECT_API_URL: prefect_pg_server.api_url,
        PREFECT_HOME: tmp_path / "client-home",
        PREFECT_SERVER_ANALYTICS_ENABLED: False,
    }
    with (
        temporary_settings(settings),  # type: ignore[arg-type]
        SimulatorServer(Profile.model_validate(PROFILE), [evalset]) as sim,
    ):
        path = tmp_path / "relitigate.yaml"
        path.write_text(yaml.safe_dump(_workloads(profile, evalset, sim.base_url)))
        with opened() as ctx, ctx.sessions.begin() as session:
            sync_workloads(session, path)
        try:
            yield {"sim": sim, "url": registry_url, "worker": worker, "tmp": tmp_path,
                   "api": prefect_pg_server.api_url}  # fmt: skip
        finally:
            _drain_prefect_clients()


def _drain_prefect_clients() -> None:
    """Send this process's pending logs and events now, while the server still answers
    (else they are retried against a stopped server at interpreter exit)."""
    from prefect._internal.concurrency.services import QueueService

    QueueService.drain_all(timeout=15, at_exit=False)


def _run_quarter(worker: Background, *, force: bool = False) -> list[Any]:
    """The quarter's decisions (``DecisionSummary``), the flow run here as a worker would."""
    from flows.parameters import QuarterRequest
    from flows.quarter import relitigate_quarter

    async def go() -> list[Any]:
        flow = relitigate_quarter(QuarterRequest(quarter=QUARTER, deliver=False, force=force))
        return list((await asyncio.wait_for(flow, 150)).decisions)

    try:
        return asyncio.run(go())
    except BaseException as exc:
        raise AssertionError(f"the quarter failed: {exc!r}\n{worker.log_tail()}") from exc


def test_the_quarter_fans_the_fine_tune_out_to_a_worker(scenario: dict[str, Any]) -> None:
    sim, worker = scenario["sim"], scenario["worker"]
    rows = _run_quarter(worker)
    assert [r.workload for r in rows] == ["triage"]
    verdict = rows[0].verdict
    assert verdict in {"keep", "watch", "retire"}, rows[0]

    # The decision and both runs are in the PostgreSQL registry.
    stored = registry_state(scenario["url"])
    assert stored["decisions"] == [(QUARTER, verdict)]
    assert stored["counts"]["decisions"] == 1 and stored["counts"]["runs"] == 2
    status, stats, version = stored["runs"]["ft"]
    assert status == "complete" and stats["items_done"] == ITEMS, stats
    assert version == "ft-served-v7"  # answered by the simulator the worker started
    assert stats["batch_size"] == 8 and stats["device"] == "server"  # the served runner
    assert stored["runs"]["frontier"][0] == "complete"

    # The fine-tune's benchmark ran as a flow run of the GPU deployment, on the worker.
    runs = asyncio.run(benchmark_flow_runs())
    assert len(runs) == 1, runs
    run = runs[0]
    assert run.state is not None and run.state.is_completed(), run.state
    assert run.work_pool_name == "relitigate-gpu"
    assert run.parameters == {"request": {
        "workload": "triage", "candidate": "ft", "quarter": QUARTER, "budget_usd": None,
        "attempt": None, "retry_level": 1,
    }}  # fmt: skip
    assert run.name == f"triage/ft {QUARTER}"
    assert str(run.id) in worker.log_path.read_text(encoding="utf-8")

    # The buy alternative ran here: one call per item, none twice.
    buy = sim.stats()["models"]["frontier-good"]
    assert buy["completions"] == ITEMS and buy["duplicate_completions"] == 0
    assert sim.stats()["models"]["ft-served"]["requests"] == 0  # not on this simulator

    # A re-run of the finished quarter: no provider call, no worker run, nothing new stored.
    requests_before = {n: m["requests"] for n, m in sim.stats()["models"].items()}
    again = _run_quarter(worker)
    assert again[0].reused and again[0].verdict == verdict
    assert {n: m["requests"] for n, m in sim.stats()["models"].items()} == requests_before
    assert len(asyncio.run(benchmark_flow_runs())) == 1
    assert registry_state(scenario["url"]) == stored

    # Deployed with the registry: the workload's flow runs queue on a limit of their own,
    # which the next run takes and gives back.
    deploy = subprocess.run(
        cli_argv("deploy", "--gpu-pool-type", "process"), cwd=REPO_ROOT, capture_output=True,
        env=prefect_env(scenario["tmp"] / "deploy-again", scenario["api"],
                        RELITIGATE_DATABASE_URL=scenario["url"]),
        text=True, timeout=90, check=False,
    )  # fmt: skip
    assert deploy.returncode == 0, deploy.stdout[-3000:] + deploy.stderr[-3000:]
    assert "concurrency limit workload:triage (1 run at a time)" in deploy.stdout

    # Forced: decided again, and the worker's benchmark finds every item checkpointed, so
    # it starts no model server and nothing is paid twice.
    forced = _run_quarter(worker, force=True)
    [limit] = asyncio.run(workload_limits())
    assert (limit.name, limit.limit, limit.active_slots) == ("workload:triage", 1, 0)
    assert not forced[0].reused and forced[0].verdict == verdict
    runs = asyncio.run(benchmark_flow_runs())
    assert len(runs) == 2 and all(r.state is not None and r.state.is_completed() for r in runs)
    assert {n: m["requests"] for n, m in sim.stats()["models"].items()} == requests_before
    assert registry_state(scenario["url"])["counts"] == stored["counts"]
