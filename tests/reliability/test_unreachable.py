"""A provider that is not there is not an answer: the command stops, says where, and records
nothing as a result.

- ``bench`` against a closed port (SQLite and PostgreSQL): one line naming the endpoint and
  every candidate that uses it, exit 2, no run, no result; the table (which used to say
  ``complete`` with quality 0.000) is never printed.
- ``bench`` against an endpoint that accepts connections and then drops every call (the
  simulator's ``disconnect_rate: 1``): the preflight passes, the runner stops after a few items
  in a row failed to connect, one line says so, and no result is stored.
- ``run`` against a closed port: the workload fails with one line naming the endpoint, exit
  1, no traceback; no run, result, decision or notice.

Every command runs as a real ``relitigate`` process on the example workloads file, pointed at
loopback only.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from relitigate.simulator import SimulatorServer, load_profile
from relitigate.simulator.profile import ModelProfile, Profile
from tests.conftest import DIALECTS, dump_database, make_database

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
CONSOLE_SCRIPT = Path(sys.executable).with_name("relitigate")
RESULT_TABLES = ("runs", "item_results", "decisions", "notices")


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def workloads_file(folder: Path, api_base: str, **candidate: Any) -> Path:
    """The example workloads file, every candidate pointed at ``api_base`` (plus
    ``candidate``'s settings), written beside a copy of the example eval sets."""
    data = yaml.safe_load((EXAMPLES / "relitigate.yaml").read_text(encoding="utf-8"))
    for workload in data["workloads"]:
        for c in [workload["fine_tune"], *workload["buy"]]:
            c.update(api_base=api_base, **candidate)
    (folder / "evalsets").mkdir(parents=True, exist_ok=True)
    for src in (EXAMPLES / "evalsets").glob("*.jsonl"):
        (folder / "evalsets" / src.name).write_bytes(src.read_bytes())
    path = folder / "relitigate.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def cli_env(tmp: Path, database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a ``relitigate`` process: its own data dir and registry, none of
    the caller's relitigate or Prefect server settings, and the Prefect home the test session
    shares (a second temporary Prefect server starts faster in a home that has its database)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("RELITIGATE_") and k not in ("PREFECT_API_URL", "PREFECT_HOME")
    }
    env.update(
        RELITIGATE_DATA_DIR=str(tmp / "data"),
        RELITIGATE_DATABASE_URL=database_url,
        PREFECT_HOME=str(tmp.parent / "relitigate-cli-prefect-home"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        LITELLM_OFFLINE_MODE="true",
        **extra,
    )
    return env


def relitigate(
    *args: str, env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``relitigate ARGS`` as a process (the installed console script)."""
    return subprocess.run(
        [str(CONSOLE_SCRIPT), *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def in_process(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], *args: str) -> int:
    """``relitigate ARGS`` through the console entry point in this process (for set-up, and
    for tables of commands where a process each would cost a second of start-up); its exit
    code. The process's environment and settings are restored afterwards by ``monkeypatch``."""
    from relitigate.cli.app import main
    from relitigate.errors import PREFECT_CONSOLE_ENV

    for name in [k for k in os.environ if k.startswith("RELITIGATE_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        if name.startswith(("RELITIGATE_", "LITELLM_")):
            monkeypatch.setenv(name, value)
    # main() would otherwise choose Prefect's console handler for the rest of this process
    monkeypatch.setenv(PREFECT_CONSOLE_ENV, "prefect.logging.handlers.PrefectConsoleHandler")
    monkeypatch.setattr(sys, "argv", ["relitigate", *args])
    try:
        main()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0


def registered(
    monkeypatch: pytest.MonkeyPatch, tmp: Path, database_url: str, api_base: str, **candidate: Any
) -> dict[str, str]:
    """The example workloads synced (on ``api_base``) into the registry at ``database_url``,
    which is at the newest schema; the environment of a command on it."""
    env = cli_env(tmp, database_url)
    file = workloads_file(tmp / "w", api_base, **candidate)
    assert in_process(monkeypatch, env, "sync", str(file)) == 0
    return env


def assert_nothing_recorded(database_url: str) -> None:
    dump = dump_database(database_url)
    assert {t: dump[t] for t in RESULT_TABLES} == {t: [] for t in RESULT_TABLES}


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("relitigate: ")]


@pytest.fixture(params=DIALECTS)
def registry_url(
    request: pytest.FixtureRequest, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A registry at the newest schema, on SQLite and PostgreSQL."""
    with make_database(str(request.param), tmp_path, tmp_path_factory, migrated=True) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A registry at the newest schema, on SQLite."""
    with make_database("sqlite", tmp_path, tmp_path_factory, migrated=True) as url:
        yield url


def test_bench_against_a_closed_port_names_the_endpoint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, registry_url: str
) -> None:
    port = closed_port()
    env = registered(monkeypatch, tmp_path, registry_url, f"http://127.0.0.1:{port}/v1")

    done = relitigate("bench", "ticket-triage", "--budget", "5", env=env)

    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    [line] = error_lines(done.stderr)
    assert f"cannot reach 127.0.0.1:{port}" in line
    assert all(name in line for name in ("'triage-ft-v3'", "'frontier'", "'frontier-mini'"))
    assert "complete" not in done.stdout and "0.000" not in done.stdout
    assert_nothing_recorded(registry_url)


def test_bench_stops_when_every_call_is_dropped(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sqlite_url: str
) -> None:
    names = [m.name for m in load_profile(EXAMPLES / "simulator.yaml").models]
    dropping = Profile(models=[ModelProfile(name=n, disconnect_rate=1.0) for n in names])
    url = sqlite_url
    with SimulatorServer(dropping) as sim:
        limits = {"concurrency": 2, "max_attempts": 2}
        env = registered(monkeypatch, tmp_path, url, sim.base_url, limits=limits)
        done = relitigate("bench", "ticket-triage", "--candidate", "frontier", env=env)
        requests = sim.model_stats("sim-frontier")["requests"]

    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    [line] = error_lines(done.stderr)
    assert "'frontier'" in line and "failed to connect" in line
    assert sim.base_url.split("//")[1].split("/")[0] in line  # the endpoint, 127.0.0.1:PORT
    assert requests < 40  # stopped after a few items, not after all 240
    dump = dump_database(url)
    assert dump["item_results"] == [] and dump["decisions"] == []
    assert [r["status"] for r in dump["runs"]] == ["failed"]


def test_run_against_a_closed_port_fails_the_workload_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sqlite_url: str
) -> None:
    port = closed_port()
    url = sqlite_url
    env = registered(monkeypatch, tmp_path, url, f"http://127.0.0.1:{port}/v1")

    done = relitigate("run", "--quarter", "2026Q1", "--workload", "ticket-triage", env=env)

    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    [line] = error_lines(done.stderr)
    assert line.startswith("relitigate: ticket-triage 2026Q1 failed: ")
    assert f"cannot reach 127.0.0.1:{port}" in line
    assert_nothing_recorded(url)
