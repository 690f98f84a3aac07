"""Overlapping runs pay once and agree (real processes, one PostgreSQL registry).

- Two ``relitigate run --quarter 2026Q1`` at once, each with its own Prefect home and data
  directory (a schedule and a trigger on two machines), against a provider whose buy side
  fails most requests: no item is paid twice (the simulator counts completions per item),
  both exit 0, and the one decision equals a single run's on its own registry and simulator
  (verdict, errored items and attempts per side). Without the lease both processes called
  every item, and the second's retries lowered the flaky side's error rate until the
  workload was retired.
- The lease holder SIGKILLed mid-benchmark: the next run waits for the lease to expire,
  takes it over, and pays for no item twice. Calls in flight at the kill were held by the
  paused simulator and never answered, so exactly one answer per item is paid for.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from relitigate.simulator import Profile, SimulatorServer
from tests.reliability.overlap_support import (
    ITEMS,
    RunProcess,
    profile,
    registry_state,
    run_env,
    sync,
    wait_until,
    write_evalset,
    write_workloads,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture
def registry() -> Iterator[Callable[[], str]]:
    """Fresh PostgreSQL registries at the newest schema (dropped afterwards)."""
    from tests.conftest import _postgres

    names: list[str] = []

    def create() -> str:
        names.append(_postgres.create(migrated=True))
        return _postgres.url_for(names[-1])

    try:
        yield create
    finally:
        for name in names:
            _postgres.drop(name)


def _scenario(tmp: Path, url: str, *, flaky: bool, latency_ms: float = 5) -> SimulatorServer:
    evalset = write_evalset(tmp / "triage.jsonl")
    sim = SimulatorServer(Profile.model_validate(profile(flaky=flaky, latency_ms=latency_ms)),
                          [evalset]).start()  # fmt: skip
    sync(url, write_workloads(tmp, evalset, sim.base_url, flaky=flaky))
    return sim


def _paid(sim: SimulatorServer) -> dict[str, tuple[int, int]]:
    """Per model: (completions, items answered more than once)."""
    return {n: (m["completions"], m["duplicate_completions"])
            for n, m in sim.stats()["models"].items()}  # fmt: skip


def _start(url: str, tmp: Path, name: str, *, data: Path | None = None) -> RunProcess:
    env = run_env(url, tmp / f"prefect-{name}", data or tmp / f"data-{name}")
    return RunProcess.start(env, tmp / f"{name}.log")


def test_two_runs_at_once_pay_once_and_decide_as_one_run_would(
    registry: Callable[[], str], tmp_path: Path
) -> None:
    # The reference: one run alone, on its own registry and simulator.
    alone_dir = tmp_path / "alone"
    alone_dir.mkdir()
    alone_url = registry()
    alone_sim = _scenario(alone_dir, alone_url, flaky=True)
    try:
        alone = _start(alone_url, alone_dir, "alone")
        assert alone.wait() == 0, alone.text()[-3000:]
        alone_paid = _paid(alone_sim)
    finally:
        alone_sim.stop()
    single = registry_state(alone_url)
    assert single["decisions"] == [("2026Q1", "inconclusive", 1)], alone.text()[-3000:]
    assert single["runs"]["frontier"]["errored"] > 0.05 * ITEMS  # the flaky side, after retry

    # Two at once, on another registry and a fresh simulator with the same profile. Replies
    # are held until one process is seen waiting for the other's lease, so they overlap.
    both_dir = tmp_path / "both"
    both_dir.mkdir()
    url = registry()
    sim = _scenario(both_dir, url, flaky=True)
    try:
        sim.pause()
        runs = [_start(url, both_dir, name) for name in ("a", "b")]
        wait_until(lambda: any("waiting (" in r.text() for r in runs), "a run to wait")
        sim.resume()
        codes = [r.wait() for r in runs]
        paid = _paid(sim)
    finally:
        sim.stop()
    assert codes == [0, 0], "\n".join(r.text()[-3000:] for r in runs)
    assert paid == alone_paid  # the same calls answered as by one run alone...
    assert paid["ft-good"] == (ITEMS, 0) and paid["frontier"][1] == 0  # ...each item once
    together = registry_state(url)
    assert together == single  # one decision, the same verdict, errors and attempts


def test_a_killed_holder_is_taken_over_after_its_lease_expires_and_nothing_is_paid_twice(
    registry: Callable[[], str], tmp_path: Path
) -> None:
    url = registry()
    sim = _scenario(tmp_path, url, flaky=False, latency_ms=20)
    data = tmp_path / "data"  # the same machine: the killed run's journal is read back
    try:
        first = _start(url, tmp_path, "killed", data=data)
        wait_until(lambda: sim.model_stats("ft-good")["completions"] >= 40, "progress")
        sim.pause()  # replies stop: what is in flight now is never answered...
        time.sleep(0.5)  # ...and the run has journaled every reply it was sent
        in_flight = sim.stats()["in_flight"]
        first.kill()
        sim.resume()
        answered_before = {n: c for n, (c, _) in _paid(sim).items()}
        assert in_flight > 0 and 0 < answered_before["ft-good"] < ITEMS

        second = _start(url, tmp_path, "takeover", data=data)
        assert second.wait() == 0, second.text()[-3000:]
        paid = _paid(sim)
    finally:
        sim.stop()
    log = second.text()
    assert "took the lease over from" in log and f"pid {first.popen.pid}" in log, log[-3000:]
    assert paid == {"ft-good": (ITEMS, 0), "frontier": (ITEMS, 0)}  # one answer per item
    state: dict[str, Any] = registry_state(url)
    assert [d[:2] for d in state["decisions"]] == [("2026Q1", "keep")], log[-3000:]
    assert {n: (r["status"], r["errored"]) for n, r in state["runs"].items()} == {
        "ft": ("complete", 0),
        "frontier": ("complete", 0),
    }
