"""A run killed with SIGKILL and re-run pays exactly once per item (the simulator counts)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from relitigate.simulator import ModelProfile, Profile, SimulatorServer
from relitigate.simulator.evalsets import ItemIndex, SimItem
from tests.evaluation.conftest import make_items
from tests.evaluation.kill_child import finished_keys

ROOT = Path(__file__).resolve().parents[2]
N = 60


@pytest.fixture
def slow_sim() -> Iterator[SimulatorServer]:
    items = make_items(N, prefix="k")
    index = ItemIndex((str(i.input), SimItem(i.key, i.target)) for i in items)
    profile = Profile(models=[ModelProfile(name="perfect", latency={"fixed_ms": 100})])
    with SimulatorServer(profile, index) as sim:
        yield sim


def child(sim: SimulatorServer, sink: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.evaluation.kill_child", sim.base_url, str(sink), str(N)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_sigkill_then_rerun_pays_once_per_item(slow_sim: SimulatorServer, tmp_path: Path) -> None:
    sink = tmp_path / "results.jsonl"
    first = child(slow_sim, sink)
    deadline = time.monotonic() + 60
    while len(finished_keys(sink)) < 12:
        assert first.poll() is None, "the child finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    # freeze replies, give the child time to checkpoint what it received, then kill it hard
    slow_sim.pause()
    time.sleep(0.5)
    first.kill()
    first.wait()
    assert first.returncode == -9
    slow_sim.resume()
    before = finished_keys(sink)
    assert 12 <= len(before) < N
    assert slow_sim.model_stats("perfect")["items_answered"] == len(before)

    second = child(slow_sim, sink)
    out, _ = second.communicate(timeout=90)
    assert second.returncode == 0
    report = json.loads(out.strip().splitlines()[-1])
    assert report == {"done": N - len(before), "skipped": len(before), "status": "complete"}

    lines = [json.loads(line) for line in sink.read_text().splitlines()]
    assert Counter(r["key"] for r in lines) == Counter({f"k{i}": 1 for i in range(N)})
    stats = slow_sim.model_stats("perfect")
    assert stats["items_answered"] == N
    assert stats["duplicate_completions"] == 0
    assert stats["completions"] == N
