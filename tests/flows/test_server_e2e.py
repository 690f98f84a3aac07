"""Through a real Prefect server: event triggers, and the quarter fanned out under a shared limit.

One module-scoped stack, all real processes on 127.0.0.1: a Prefect server on its own
PostgreSQL database; ``relitigate deploy --gpu-pool-type process`` (pools, the deployments of
``deployments/prefect.yaml`` with the ``triggered`` deployment's event trigger, each
workload's concurrency limit, each route's rate limit); two process workers on
``relitigate-local``; a PostgreSQL registry every process writes; the provider simulator (a
thread of this process). Two groups of workloads share one workloads file (a sync archives
what the file leaves out):

- ``trig-*`` (no rate limit): a catalog entry added by ``relitigate sync`` challenges two of
  the three. The sync emits one event per workload, the server's automation starts one run of
  ``relitigate-quarter/triggered`` per workload, a worker runs it, and each matching
  workload's quarter is re-decided once (revision 2); a second identical sync starts nothing.
- ``fan-*``: the quarter runs here with ``RELITIGATE_WORKLOAD_DEPLOYMENT`` set, so each
  workload is a flow run of ``relitigate-workload/fan-out`` on the workers, all calling two
  simulator models that answer 429 over a low requests-a-second limit, which every candidate
  declares as its ``rpm`` (one Prefect rate limit per model, shared by every process).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.flows.distributed_support import REPO_ROOT, Background, cli_argv, prefect_env

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ITEMS = 40
FAN_QUARTER = "2026Q2"
FAN_RPS = 25
"""The simulator's limit per fan-out model, requests a second (HTTP 429 over it)."""
TRIG = ("trig-a", "trig-b", "trig-c")
"""trig-a and trig-b pick catalog entries tagged ``cheap``; trig-c picks none."""
FAN = ("fan-a", "fan-b", "fan-c")
PROFILE = {
    "seed": 11,
    "models": [
        {"name": "trig-ft", "accuracy": 0.95, "latency": {"fixed_ms": 2}},
        {"name": "trig-frontier", "accuracy": 0.9, "latency": {"fixed_ms": 2}},
        {"name": "trig-cheap", "accuracy": 0.9, "latency": {"fixed_ms": 2}},
        {"name": "fan-ft", "accuracy": 0.93, "latency": {"fixed_ms": 5}, "rpm": FAN_RPS * 60},
        {"name": "fan-frontier", "accuracy": 0.9, "latency": {"fixed_ms": 5},
         "rpm": FAN_RPS * 60},
    ],
}  # fmt: skip
FAN_MODELS = ("fan-ft", "fan-frontier")


def _write_evalset(path: Path) -> None:
    rows = (
        {"id": f"{path.stem}-{i:03d}", "input": f"{path.stem} {i}: which queue?",
         "target": f"q{i % 5}"}
        for i in range(ITEMS)
    )  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _candidate(name: str, model: str, api_base: str, price: float, rpm: int | None = None) -> Any:
    limits: dict[str, Any] = {"concurrency": 16, "max_attempts": 4, "timeout_s": 20}
    if rpm:
        limits["rpm"] = rpm
    return {
        "name": name, "route": f"openai/{model}", "api_base": api_base,
        "params": {"max_tokens": 8}, "limits": limits,
        "pricing": {"input_per_mtok": price, "output_per_mtok": 3 * price},
    }  # fmt: skip


def _workloads_file(folder: Path, api_base: str, *, with_cheap: bool) -> dict[str, Any]:
    def workload(name: str, ft: str, buy: str, rpm: int | None) -> dict[str, Any]:
        return {
            "name": name,
            "owner": {"email": f"{name}@example.com"},
            "case": "cost_distillation",
            "volume_per_day": 20_000_000,
            "fixed_costs_monthly_usd": 1000,
            "adopted": "2025Q4",
            "eval_set": {"path": str(folder / f"{name}.jsonl"), "scorer": {"kind": "exact"}},
            "fine_tune": _candidate("ft", ft, api_base, 0.05, rpm),
            "buy": [_candidate("frontier", buy, api_base, 0.5, rpm)],
        }

    trig = [workload(n, "trig-ft", "trig-frontier", None) for n in TRIG]
    trig[0]["catalog"] = trig[1]["catalog"] = {"tags": ["cheap"]}
    fan = [workload(n, "fan-ft", "fan-frontier", FAN_RPS * 60) for n in FAN]
    catalog = [{**_candidate("pricey", "trig-frontier", api_base, 50.0), "tags": ["frontier"]}]
    if with_cheap:
        catalog.append({**_candidate("cheap", "trig-cheap", api_base, 0.1), "tags": ["cheap"]})
    return {"version": 1, "workloads": trig + fan, "catalog": catalog}


@dataclass
class Stack:
    """The module's server, workers, registry and simulator."""

    api: str
    registry: str
    folder: Path
    sim: Any
    server: Any
    workers: list[Background]
    write_file: Callable[[bool], Path]

    def logs(self) -> str:
        """The workers' and the server's log tails, for a failure message."""
        tails = [w.log_tail(60) for w in self.workers]
        return "\n".join([*tails, f"--- server ---\n{self.server.log_tail(40)}"])

    def cli(self, *args: str, home: str) -> subprocess.CompletedProcess[str]:
        """``relitigate ARGS`` in a process of its own, on this stack's server and registry."""
        env = prefect_env(self.folder / home, self.api, RELITIGATE_DATABASE_URL=self.registry,
                          RELITIGATE_DATA_DIR=str(self.folder / f"{home}-data"))  # fmt: skip
        done = subprocess.run(cli_argv(*args), cwd=REPO_ROOT, env=env, capture_output=True,
                              text=True, timeout=120, check=False)  # fmt: skip
        assert done.returncode == 0, f"relitigate {args}:\n{done.stdout[-3000:]}{done.stderr}"
        return done


@contextlib.contextmanager
def _databases() -> Iterator[tuple[str, str]]:
    """A migrated PostgreSQL registry and an empty database for the Prefect server."""
    from tests.conftest import _postgres
    from tests.flows.conftest import asyncpg_url

    names = [_postgres.create(migrated=True), _postgres.create(migrated=False)]
    try:
        yield _postgres.url_for(names[0]), asyncpg_url(_postgres.url_for(names[1]))
    finally:
        for name in names:
            _postgres.drop(name)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_HOME,
        PREFECT_SERVER_ANALYTICS_ENABLED,
        temporary_settings,
    )

    from registry.db import make_engine, session_factory
    from registry.sync import sync_workloads
    from relitigate.prefect_server import LocalPrefectServer, free_port
    from relitigate.simulator import Profile, SimulatorServer

    folder = tmp_path_factory.mktemp("server-e2e")
    for name in TRIG + FAN:
        _write_evalset(folder / f"{name}.jsonl")
    evalsets = [folder / f"{name}.jsonl" for name in TRIG + FAN]
    with (
        _databases() as (registry, server_db),
        SimulatorServer(Profile.model_validate(PROFILE), evalsets) as sim,
        pytest.MonkeyPatch.context() as mp,
    ):

        def write_file(with_cheap: bool) -> Path:
            path = folder / "relitigate.yaml"
            data = _workloads_file(folder, sim.base_url, with_cheap=with_cheap)
            path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
            return path

        engine = make_engine(registry)
        with session_factory(engine).begin() as session:
            sync_workloads(session, write_file(False))
        engine.dispose()
        server = LocalPrefectServer(
            home=folder / "prefect-server", port=free_port(), database_url=server_db,
            extra_env={"PREFECT_UI_ENABLED": "false", "PREFECT_LOGGING_LEVEL": "WARNING"},
        )  # fmt: skip
        workers: list[Background] = []
        try:
            server.start(timeout_s=180)
            st = Stack(server.api_url, registry, folder, sim, server, workers, write_file)
            st.cli("deploy", "--gpu-pool-type", "process", home="deploy")
            workers += [_start_worker(st, i) for i in range(2)]
            for name in ("RELITIGATE_SLACK_TOKEN", "RELITIGATE_GPU_DEPLOYMENT",
                         "RELITIGATE_WORKLOAD_DEPLOYMENT"):  # fmt: skip
                mp.delenv(name, raising=False)
            mp.setenv("RELITIGATE_DATABASE_URL", registry)
            mp.setenv("RELITIGATE_DATA_DIR", str(folder / "here-data"))
            settings = {
                PREFECT_API_URL: server.api_url,
                PREFECT_HOME: folder / "client-home",
                PREFECT_SERVER_ANALYTICS_ENABLED: False,
            }
            with temporary_settings(settings):  # type: ignore[arg-type]
                try:
                    yield st
                finally:
                    _drain_prefect_clients()
        finally:
            for worker in workers:
                worker.stop()
            server.stop()


def _start_worker(st: Stack, i: int) -> Background:
    """``prefect worker start`` on ``relitigate-local``, with what its flow runs need."""
    env = prefect_env(
        st.folder / f"worker-{i}", st.api,
        RELITIGATE_DATABASE_URL=st.registry, RELITIGATE_HOME=str(REPO_ROOT),
        RELITIGATE_DATA_DIR=str(st.folder / f"worker-{i}-data"),
        PREFECT_WORKER_QUERY_SECONDS="1", PREFECT_WORKER_HEARTBEAT_SECONDS="5",
    )  # fmt: skip
    # At most two runs each: the fan-out's three runs, all waiting at once, need both.
    argv = [str(Path(sys.executable).with_name("prefect")), "worker", "start", "--pool",
            "relitigate-local", "--type", "process", "--name", f"w{i}", "--limit", "2"]  # fmt: skip
    return Background.start(f"worker w{i}", argv, env=env, log_path=st.folder / f"w{i}.log")


def _drain_prefect_clients() -> None:
    """Send this process's pending logs and events while the server still answers."""
    from prefect._internal.concurrency.services import QueueService

    QueueService.drain_all(timeout=15, at_exit=False)


# --------------------------------------------------------------------------- probes


async def _flow_runs(deployment: str) -> list[Any]:
    """Flow runs of the deployment named ``deployment`` (``flow/name``)."""
    from prefect import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    async with get_client() as client:
        found = await client.read_deployment_by_name(deployment)
        ids = DeploymentFilterId(any_=[found.id])
        return list(await client.read_flow_runs(deployment_filter=DeploymentFilter(id=ids)))


async def _trigger_events() -> list[Any]:
    from prefect import get_client
    from prefect.events.filters import EventFilter, EventNameFilter

    wanted = EventFilter(event=EventNameFilter(prefix=["relitigate.trigger."]))
    async with get_client() as client:
        return list((await client.read_events(filter=wanted, limit=50)).events)


def _final_runs(st: Stack, deployment: str, count: int, timeout_s: float) -> list[Any]:
    """Poll until ``deployment`` has ``count`` flow runs, all in a final state."""
    deadline = time.monotonic() + timeout_s
    while True:
        runs = asyncio.run(_flow_runs(deployment))
        if len(runs) >= count and all(r.state is not None and r.state.is_final() for r in runs):
            return runs
        if time.monotonic() > deadline:
            states = [(r.name, r.state.name if r.state else None) for r in runs]
            raise AssertionError(f"{deployment}: {states} after {timeout_s} s\n{st.logs()}")
        time.sleep(0.5)


def _decisions(url: str) -> dict[str, tuple[str, int]]:
    """``{workload: (quarter, revision)}`` of every decision (at most one per workload here)."""
    from sqlalchemy import select

    from registry.db import make_engine, session_factory
    from registry.models import Decision, Workload

    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            rows = session.execute(
                select(Workload.name, Decision.quarter, Decision.revision).join(
                    Workload, Workload.id == Decision.workload_id
                )
            ).all()
    finally:
        engine.dispose()
    found: dict[str, tuple[str, int]] = {}
    for name, quarter, revision in rows:
        assert name not in found, f"{name} has decisions for two quarters"
        found[name] = (quarter, revision)
    return found


def _causes(url: str) -> set[tuple[str, str, str | None]]:
    """``(workload, cause, claim token)`` of every cause marked done."""
    from sqlalchemy import select

    from registry.db import make_engine, session_factory
    from registry.models import TriggerCause, Workload

    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            rows = session.execute(
                select(Workload.name, TriggerCause.cause, TriggerCause.claim_token)
                .join(Workload, Workload.id == TriggerCause.workload_id)
                .where(TriggerCause.done_at.is_not(None))
            ).all()
    finally:
        engine.dispose()
    return {(name, cause, token) for name, cause, token in rows}


def _worker_of(st: Stack, run: Any) -> str:
    """The worker that started ``run`` (both may try: the server lets one)."""
    took = f"submitting flow run '{run.id}'"
    lost = f"Aborted submission of flow run '{run.id}'"
    ran = []
    for worker in st.workers:
        text = worker.log_path.read_text(encoding="utf-8", errors="replace")
        if took in text and lost not in text:
            ran.append(worker.name)
    assert len(ran) == 1, (run.name, ran, st.logs())
    return ran[0]


def _wait_for_workers(st: Stack, timeout_s: float = 90) -> None:
    """Until both workers are online in the pool."""
    from prefect import get_client

    async def online() -> int:
        async with get_client() as client:
            found = await client.read_workers_for_work_pool("relitigate-local")
        return sum(w.status.value == "ONLINE" for w in found)

    deadline = time.monotonic() + timeout_s
    while asyncio.run(online()) < len(st.workers):
        assert time.monotonic() < deadline, f"workers not online\n{st.logs()}"
        time.sleep(0.5)


def _model_stats(st: Stack, models: tuple[str, ...]) -> dict[str, int]:
    stats = st.sim.stats()["models"]
    keys = ("requests", "completions", "rate_limited", "duplicate_completions")
    return {k: sum(int(stats[m][k]) for m in models) for k in keys}


# --------------------------------------------------------------------------- tests


def test_a_new_catalog_entry_runs_the_triggered_deployment_once_per_matching_workload(
    stack: Stack,
) -> None:
    from flows.parameters import QuarterRequest, current_quarter
    from flows.quarter import relitigate_quarter

    st = stack
    quarter = current_quarter()  # what a triggered run re-decides
    # Each trig workload decided once (here, in this process) before the catalog grows.
    request = QuarterRequest(quarter=quarter, workloads=list(TRIG), deliver=False)
    first = asyncio.run(relitigate_quarter(request))
    assert sorted(d.workload for d in first.decisions) == sorted(TRIG)
    assert {n: _decisions(st.registry)[n] for n in TRIG} == {n: (quarter, 1) for n in TRIG}
    assert st.sim.model_stats("trig-cheap")["requests"] == 0

    _wait_for_workers(st)
    synced = json.loads(st.cli("sync", str(st.write_file(True)), "--json", home="sync").stdout)
    assert synced["catalog_added"] == ["cheap"]
    causes = sorted((c["workload"], c["cause"]) for c in synced["trigger_causes"])
    assert causes == [("trig-a", "catalog:cheap"), ("trig-b", "catalog:cheap")]
    # handed to Prefect, so `relitigate run --triggered` will not decide them again
    assert _causes(st.registry) == {(w, c, "prefect-event") for w, c in causes}

    # The server's automation starts one run per event; a worker runs each.
    runs = _final_runs(st, "relitigate-quarter/triggered", 2, timeout_s=180)
    assert len(runs) == 2, [r.name for r in runs]
    by_workload = {}
    for run in runs:
        assert run.state.is_completed(), (run.name, run.state, st.logs())
        assert run.work_pool_name == "relitigate-local", run
        _worker_of(st, run)
        request_sent = run.parameters["request"]
        assert request_sent["force"] is True, run.parameters
        (name,) = request_sent["workloads"]
        by_workload[name] = run
    assert sorted(by_workload) == ["trig-a", "trig-b"]

    # One new revision per matching workload; the other's decision untouched.
    decided = _decisions(st.registry)
    assert {n: decided[n] for n in TRIG} == {
        "trig-a": (quarter, 2), "trig-b": (quarter, 2), "trig-c": (quarter, 1),
    }  # fmt: skip
    cheap = st.sim.model_stats("trig-cheap")
    assert 0 < cheap["completions"] <= 2 * ITEMS and cheap["duplicate_completions"] == 0

    # The same file again: no cause, no event, no run (the events so far are the two).
    again = json.loads(st.cli("sync", str(st.write_file(True)), "--json", home="sync").stdout)
    assert again["trigger_causes"] == [] and again["catalog_added"] == []
    deadline = time.monotonic() + 4  # time enough for an event to reach the automation
    while time.monotonic() < deadline:
        assert len(asyncio.run(_flow_runs("relitigate-quarter/triggered"))) == 2
        time.sleep(0.5)
    events = asyncio.run(_trigger_events())
    assert sorted(e.resource.id for e in events) == [
        "relitigate.workload.trig-a", "relitigate.workload.trig-b",
    ]  # fmt: skip
    assert _decisions(st.registry) == decided


def test_the_quarter_fans_out_over_two_workers_under_a_shared_limit(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect import get_client

    from flows.parameters import QuarterRequest
    from flows.quarter import relitigate_quarter

    st = stack
    _wait_for_workers(st)
    before = _model_stats(st, FAN_MODELS)
    monkeypatch.setenv("RELITIGATE_WORKLOAD_DEPLOYMENT", "relitigate-workload/fan-out")
    monkeypatch.setenv("RELITIGATE_MAX_CONCURRENT_WORKLOADS", str(len(FAN)))  # all at once
    request = QuarterRequest(quarter=FAN_QUARTER, workloads=list(FAN), deliver=False)

    async def quarter() -> Any:
        return await asyncio.wait_for(relitigate_quarter(request), 240)

    try:
        outcome = asyncio.run(quarter())
    except BaseException as exc:
        raise AssertionError(f"the quarter failed: {exc!r}\n{st.logs()}") from exc
    assert sorted(d.workload for d in outcome.decisions) == sorted(FAN)
    assert not outcome.failures and not any(d.reused for d in outcome.decisions)

    # Each workload decided exactly once, by one fan-out flow run a worker ran.
    decided = _decisions(st.registry)
    assert {n: decided[n] for n in FAN} == {n: (FAN_QUARTER, 1) for n in FAN}
    runs = asyncio.run(_flow_runs("relitigate-workload/fan-out"))
    assert sorted(r.parameters["request"]["workload"] for r in runs) == sorted(FAN)
    for run in runs:
        assert run.state is not None and run.state.is_completed(), (run.name, run.state)
        assert run.work_pool_name == "relitigate-local", run
    assert {_worker_of(st, run) for run in runs} == {w.name for w in st.workers}

    # The budget each model's calls shared lives on the server, one limit per model.
    async def rate_limits() -> list[Any]:
        async with get_client() as client:
            return list(await client.read_global_concurrency_limits(limit=100))

    names = [x.name for x in asyncio.run(rate_limits())]
    for model in FAN_MODELS:
        assert sum(n.startswith(f"rpm:openai-{model}-") for n in names) == 1, names

    # No item answered twice; the shared limit held. Three processes each pacing to the
    # model's whole limit would draw many 429s (tests/tasks/test_shared_rate_limits.py: 37%
    # unshared). Shared, the server's budget holds half a second's worth and the simulator's
    # bucket a whole second's, so none is expected (bench_scale measured 0 in 4800); the
    # bound allows a few for slot-decay and clock granularity at this tiny size
    # (about 240 requests, so at most a dozen).
    after = _model_stats(st, FAN_MODELS)
    delta = {k: after[k] - before[k] for k in after}
    assert delta["duplicate_completions"] == 0, delta
    assert 0 < delta["completions"] <= len(FAN) * ITEMS * len(FAN_MODELS), delta
    assert delta["rate_limited"] <= 0.05 * delta["requests"], delta
