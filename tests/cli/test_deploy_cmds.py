"""``relitigate deploy`` and ``relitigate serve`` against real local Prefect servers.

Every Prefect process has its own ``PREFECT_HOME`` under ``tmp_path``; only 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flows.quarter import QUARTERLY_CRON
from tests.flows.distributed_support import (
    REPO_ROOT,
    Background,
    alive,
    cli_argv,
    descendants,
    prefect_env,
)

pytestmark = pytest.mark.slow


def _relitigate(*args: str, env: dict[str, str], timeout: float = 90) -> Any:
    return subprocess.run(
        cli_argv(*args), cwd=REPO_ROOT, env=env, capture_output=True, text=True,
        timeout=timeout, check=False,
    )  # fmt: skip


def _api(api_url: str, path: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{api_url}{path}", data=data, headers={"content-type": "application/json"},
        method="GET" if body is None else "POST",
    )  # fmt: skip
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    # A busy SQLite-backed Prefect server answers 503 when its database is locked; Prefect's
    # own client retries 429/502/503 with backoff (PREFECT_CLIENT_MAX_RETRIES), and so do we.
    for attempt in range(6):
        try:
            with opener.open(request, timeout=10) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            if exc.code not in {429, 502, 503} or attempt == 5:
                raise
            time.sleep(0.5 * 2**attempt)


def _free_port() -> int:
    from relitigate.prefect_server import free_port

    return free_port()


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """``prefect server start`` on SQLite, 127.0.0.1, a free port."""
    from relitigate.prefect_server import LocalPrefectServer

    server = LocalPrefectServer(
        home=tmp_path_factory.mktemp("prefect-server"),
        port=_free_port(),
        extra_env={"PREFECT_UI_ENABLED": "false"},
    )
    try:
        server.start(timeout_s=180)
        yield server
    finally:
        server.stop()


# ---------------------------------------------------------------------------------------------
# deploy


def test_deploy_without_an_api_url_exits_2(tmp_path: Path) -> None:
    done = _relitigate("deploy", env=prefect_env(tmp_path / "home"))
    assert done.returncode == 2, done.stderr
    assert "PREFECT_API_URL is not set" in done.stderr
    assert "Traceback" not in done.stderr


def test_deploy_with_an_unknown_gpu_pool_type_exits_2_in_one_line(tmp_path: Path) -> None:
    env = prefect_env(tmp_path / "home", "http://127.0.0.1:9/api")
    done = _relitigate("deploy", "--gpu-pool-type", "nomad", env=env)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "relitigate: error: bad --gpu-pool-type 'nomad': use one of process, kubernetes, docker"
    ]


def test_deploy_with_a_missing_prefect_file_exits_2(tmp_path: Path) -> None:
    env = prefect_env(tmp_path / "home", "http://127.0.0.1:9/api")
    done = _relitigate("deploy", "--prefect-file", str(tmp_path / "nope.yaml"), env=env)
    assert done.returncode == 2 and "nope.yaml does not exist" in done.stderr


def test_deploy_to_an_unreachable_server_exits_2(tmp_path: Path) -> None:
    api = f"http://127.0.0.1:{_free_port()}/api"
    done = _relitigate("deploy", env=prefect_env(tmp_path / "home", api))
    assert done.returncode == 2, done.stderr
    assert f"cannot reach the Prefect API at {api}" in done.stderr


def _registry_with_a_rate_limit(tmp_path: Path) -> str:
    """A SQLite registry with one workload whose two candidates each declare an rpm (300 and
    120) for a route of their own: one rate limit each."""
    import yaml

    from registry.db import upgrade_to_head
    from tests.reliability.overlap_support import sync, write_evalset, write_workloads

    url = f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    upgrade_to_head(url)
    evalset = write_evalset(tmp_path / "triage.jsonl")
    path = write_workloads(tmp_path, evalset, "http://127.0.0.1:9/v1", flaky=False)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["workloads"][0]["fine_tune"]["limits"]["rpm"] = 300
    data["workloads"][0]["buy"][0]["limits"]["rpm"] = 120
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    sync(url, path)
    return url


def test_deploy_creates_the_pools_and_deployments(sqlite_server: Any, tmp_path: Path) -> None:
    api = sqlite_server.api_url
    url = _registry_with_a_rate_limit(tmp_path)
    env = prefect_env(tmp_path / "home", api, RELITIGATE_DATABASE_URL=url)
    done = _relitigate("deploy", env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    automations = _api(api, "/automations/filter", {})
    [zombie] = [a for a in automations if a["name"] == "relitigate: crash silent flow runs"]
    assert zombie["actions"][0]["state"] == "CRASHED"  # a lost worker's runs end Crashed
    limits = {c["name"]: c for c in _api(api, "/v2/concurrency_limits/filter", {})}
    assert limits["workload:triage"]["limit"] == 1
    rpm = {n: c for n, c in limits.items() if n.startswith("rpm:")}
    [buy] = [c for n, c in rpm.items() if n.startswith("rpm:openai-frontier-")]
    assert len(rpm) == 2 and buy["slot_decay_per_second"] == 2.0 and buy["limit"] == 1
    assert "(120 rpm, burst 1) for openai/frontier@http://127.0.0.1:9/v1|" in done.stdout
    assert "work pool relitigate-gpu (kubernetes) from kubernetes-gpu.json" in done.stdout

    pools = {p["name"]: p for p in _api(api, "/work_pools/filter", {})}
    assert pools["relitigate-local"]["type"] == "process"
    gpu = pools["relitigate-gpu"]
    assert gpu["type"] == "kubernetes"
    container = gpu["base_job_template"]["job_configuration"]["job_manifest"]["spec"][
        "template"]["spec"]["containers"][0]  # fmt: skip
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "{{ gpus }}"
    assert gpu["base_job_template"]["variables"]["properties"]["gpus"]["default"] == 1

    deployments = {d["name"]: d for d in _api(api, "/deployments/filter", {})}
    assert {"quarterly", "on-demand", "gpu", "fan-out"} <= set(deployments)
    quarterly = deployments["quarterly"]
    [schedule] = quarterly["schedules"]
    assert schedule["schedule"] == {"cron": QUARTERLY_CRON, "timezone": "UTC", "day_or": True}
    assert quarterly["work_pool_name"] == "relitigate-local"
    assert quarterly["entrypoint"] == "flows/quarter.py:relitigate_quarter"
    assert deployments["on-demand"]["schedules"] == []
    assert deployments["gpu"]["work_pool_name"] == "relitigate-gpu"
    assert deployments["gpu"]["entrypoint"] == "flows/benchmark.py:benchmark_candidate"
    assert deployments["fan-out"]["entrypoint"] == "flows/workload.py:relitigate_workload"
    fan_out = "relitigate-workload/fan-out"
    assert quarterly["job_variables"]["env"]["RELITIGATE_WORKLOAD_DEPLOYMENT"] == fan_out
    # the pull step needs no variable on the worker (a bare image or process worker)
    assert quarterly["pull_steps"] == [{"relitigate.prefect_env.enter_project": {}}]
    for deployment in (deployments[name] for name in ("quarterly", "on-demand", "gpu", "fan-out")):
        job_env = deployment["job_variables"]["env"]
        assert job_env["RELITIGATE_GPU_DEPLOYMENT"] == "benchmark-candidate/gpu"
        assert "RELITIGATE_DATABASE_URL" not in job_env  # never stored in the Prefect API

    # Re-applying is idempotent; changing the GPU pool's type is refused, not half-done.
    assert _relitigate("deploy", env=env).returncode == 0
    assert len(_api(api, "/deployments/filter", {})) == len(deployments)
    assert len(_api(api, "/automations/filter", {})) == len(automations)
    docker = _relitigate("deploy", "--gpu-pool-type", "docker", env=env)
    assert docker.returncode == 2
    assert "exists with type kubernetes, not docker" in docker.stderr


def test_a_prefect_rate_limit_paces_admissions_across_limiters(sqlite_server: Any) -> None:
    """Two limiters on one key (two processes' worth) share the server's budget."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from tasks.rate_limits import PrefectLimiter, ProviderBudget, limit_name

    budget = ProviderBudget(key=f"openai/m@http://127.0.0.1:9/v1|K{_free_port()}", rpm=600)
    limiters = [PrefectLimiter(budget), PrefectLimiter(budget)]

    async def admit_all() -> float:
        t0 = time.monotonic()
        await asyncio.gather(*(lim.admit(0) for lim in limiters for _ in range(15)))
        return time.monotonic() - t0

    with temporary_settings({PREFECT_API_URL: sqlite_server.api_url}):
        elapsed = asyncio.run(admit_all())
    limit = {c["name"]: c for c in _api(sqlite_server.api_url, "/v2/concurrency_limits/filter", {})}
    made = limit[limit_name("rpm", budget.key)]
    assert made["slot_decay_per_second"] == 10.0 and made["limit"] == 5
    assert elapsed >= (30 - 5) / 10 * 0.9  # 30 requests at 10 a second after a burst of 5


def test_the_docker_gpu_template_is_accepted(sqlite_server: Any) -> None:
    from relitigate.cli.deploy_pools import PoolSpec, create_pools, load_template

    template = REPO_ROOT / "deployments/work-pools/docker-gpu.json"
    spec = PoolSpec("relitigate-gpu-docker", "docker", template)
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: sqlite_server.api_url}):
        assert asyncio.run(create_pools([spec])) == [
            "work pool relitigate-gpu-docker (docker) from docker-gpu.json"
        ]
    pool = _api(sqlite_server.api_url, "/work_pools/relitigate-gpu-docker")
    assert pool["type"] == "docker"
    assert pool["base_job_template"] == load_template(template)
    requests = pool["base_job_template"]["job_configuration"]["container_create_kwargs"]
    assert requests["device_requests"][0]["Capabilities"] == [["gpu"]]


# ---------------------------------------------------------------------------------------------
# serve


def _wait(predicate: Any, what: str, proc: Background, timeout_s: float = 180) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc.popen.poll() is not None:
            break
        time.sleep(0.25)
    pytest.fail(f"{what} (exit code {proc.popen.poll()})\n{proc.log_tail()}")


def test_serve_schedules_the_quarter_runs_on_demand_and_stops_cleanly(tmp_path: Path) -> None:
    from registry.db import upgrade_to_head
    from relitigate.prefect_server import health_ok

    registry = f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    upgrade_to_head(registry)
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = prefect_env(
        tmp_path / "unused",
        RELITIGATE_DATABASE_URL=registry,
        RELITIGATE_DATA_DIR=str(tmp_path / "data"),
        PREFECT_UI_ENABLED="false",
    )
    del env["PREFECT_HOME"]  # serve's default: prefect/ under the data directory
    proc = Background.start(
        "serve", cli_argv("serve", "--port", str(port)), env=env, log_path=tmp_path / "serve.log"
    )
    try:
        _wait(lambda: health_ok(api), "the server never answered /api/health", proc)
        assert (tmp_path / "data" / "prefect" / "server.log").is_file()

        def served() -> dict[str, Any]:
            found = {d["name"]: d for d in _api(api, "/deployments/filter", {})}
            return found if {"quarterly", "on-demand"} <= set(found) else {}

        deployments = _wait(served, "the deployments were never served", proc)
        [schedule] = deployments["quarterly"]["schedules"]
        assert schedule["schedule"]["cron"] == QUARTERLY_CRON
        assert schedule["schedule"]["timezone"] == "UTC" and schedule["active"]
        assert deployments["quarterly"]["work_pool_name"] is None  # served, no worker needed

        # The server's scheduler has put the next quarter's run on the calendar.
        def scheduled() -> list[str]:
            body = {"flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}}}
            return [r["expected_start_time"] for r in _api(api, "/flow_runs/filter", body)]

        starts = _wait(scheduled, "no scheduled run of the quarterly deployment", proc)
        quarter_starts = ("01-01T06:00", "04-01T06:00", "07-01T06:00", "10-01T06:00")
        assert all(s[5:].startswith(quarter_starts) for s in starts), starts

        # An on-demand run is executed by the serving process (empty registry: no workloads).
        run = _api(api, f"/deployments/{deployments['on-demand']['id']}/create_flow_run", {})

        def finished() -> str:
            state = _api(api, f"/flow_runs/{run['id']}")["state_type"]
            return str(state) if state in {"COMPLETED", "FAILED", "CRASHED"} else ""

        assert _wait(finished, "the on-demand run never finished", proc, 90) == "COMPLETED"

        # Ctrl-C: the runner and the server stop, and nothing is left behind.
        children = descendants(proc.popen.pid)
        assert children  # the Prefect server (and its workers)
        proc.popen.send_signal(signal.SIGINT)
        assert proc.popen.wait(timeout=30) == 0, proc.log_tail()
        deadline = time.monotonic() + 10
        while alive(children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive(children), (alive(children), proc.log_tail())
        assert not health_ok(api)
        assert "stopping the Prefect server" in proc.log_path.read_text()
    finally:
        proc.stop()


def test_serve_refuses_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        env = prefect_env(tmp_path / "home", RELITIGATE_DATA_DIR=str(tmp_path / "data"))
        done = _relitigate("serve", "--port", str(port), env=env, timeout=30)
    assert done.returncode == 2, done.stderr
    assert f"port {port} on 127.0.0.1 is already in use" in done.stderr
