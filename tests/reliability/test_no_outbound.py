"""No command opens a connection outside loopback unless the user configured that destination.

A socket guard (``tests/reliability/guard/sitecustomize.py``, loaded by every Python process
of the command, the temporary Prefect server included) refuses and logs any connection to a
non-loopback address and any lookup of a non-local host name. The command runs with none of
the caller's Prefect or litellm settings, in a fresh ``PREFECT_HOME``, so what it shows is
what relitigate sets by itself (Prefect analytics off, litellm's bundled price map).

The full four-quarter demo takes about 100 s here (measured: 97 s wall, 37 s CPU, no
attempt logged under the guard), so the test runs ``relitigate run`` on one quarter of the
demo instead: the demo's workloads, eval sets and simulated models, the same flow. Run with
``LITELLM_LOCAL_MODEL_COST_MAP=False`` the same test logs litellm's lookups of
raw.githubusercontent.com (its remote price map); with ``PREFECT_SERVER_ANALYTICS_ENABLED``
true the temporary server's telemetry heartbeat fails with "database is locked" on stderr.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import make_database
from tests.reliability.guard.support import child_env, guard_attempts, relitigate

PROBE = """
import socket, sys, urllib.request
for attempt in (
    lambda: socket.create_connection(("203.0.113.7", 80), timeout=2),
    lambda: urllib.request.urlopen("http://relitigate-guard-probe.invalid/", timeout=2),
):
    try:
        attempt()
        sys.exit("an outbound connection was allowed")
    except OSError:
        pass
socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2).close()
print("loopback ok")
"""


def test_the_guard_refuses_and_logs_remote_connections_and_lets_loopback_through(
    tmp_path: Path,
) -> None:
    guard_log = tmp_path / "guard.log"
    env = child_env(tmp_path, database_url="sqlite://", guard_log=guard_log)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        done = subprocess.run(
            [sys.executable, "-c", PROBE, str(listener.getsockname()[1])],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert done.returncode == 0 and "loopback ok" in done.stdout, done.stderr
    assert [a["kind"] for a in guard_attempts(guard_log)] == ["connect", "getaddrinfo"]


def test_a_run_of_one_demo_quarter_connects_only_to_loopback(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from registry.db import make_engine, session_factory
    from registry.sync import sync_workloads
    from relitigate.demo import QUARTERS, prepare, write_workloads
    from relitigate.simulator import SimulatorProcess

    key = "demo-" + tmp_path.name  # the simulator checks it; any value will do
    folder = tmp_path / "demo"
    profile, evalsets = prepare(folder, api_key=key)
    guard_log = tmp_path / "guard.log"
    with (
        make_database("sqlite", tmp_path, tmp_path_factory, migrated=True) as url,
        SimulatorProcess(profile, evalsets) as sim,
    ):
        engine = make_engine(url)
        try:
            with session_factory(engine).begin() as session:
                sync_workloads(session, write_workloads(folder, QUARTERS[0], sim.base_url))
        finally:
            engine.dispose()
        env = child_env(tmp_path, database_url=url, guard_log=guard_log)
        env["RELITIGATE_DEMO_SIM_KEY"] = key
        done = relitigate("run", "--quarter", QUARTERS[0], env=env)
        served = sum(int(m.get("requests", 0)) for m in sim.stats()["models"].values())

    assert done.returncode == 0, done.stdout + done.stderr
    for workload in ("contract-review", "invoice-fields", "ticket-triage"):
        assert workload in done.stdout
    assert served > 0
    assert guard_attempts(guard_log) == []
    assert (tmp_path / "prefect-home").is_dir()  # the run's own temporary server
    # with analytics on, a fresh home's server logs its heartbeat failing on a locked database
    assert "send_telemetry_heartbeat" not in done.stderr
    assert "database is locked" not in done.stderr
