"""Two processes, one provider account: its rate limit holds for both together.

Two workloads' buy alternatives share one provider key (the simulator's ``api_base``, no key
variable); each declares the account's ``rpm``, which the simulator enforces (HTTP 429 over
it). Each benchmark runs in its own process, as on two workers. Paced alone, each process
would send the whole rpm, twice the account's (about a third of the requests then come back
429: ``RELITIGATE_RATE_LIMITS=off``); through the registry's shared bucket they stay under it
together: almost no 429, and every item answered once per workload.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tasks.evaluation.types import CandidateSpec, Limits
from tasks.rate_limits import bucket_shape, limit_name, provider_budgets, provider_key
from tests.reliability.overlap_support import ROOT, run_env, sync

RPM = 2400  # 40 requests a second, for both processes together
ITEMS = 120
QUARTER = "2026Q1"


def _spec(name: str, **limits: Any) -> CandidateSpec:
    return CandidateSpec(
        name=name, route="openai/m", api_base="http://127.0.0.1:9/v1/", api_key_env="K",
        limits=Limits(**limits),
    )  # fmt: skip


def test_a_provider_key_is_its_route_endpoint_and_key_variable_its_budget_the_smallest() -> None:
    a, b = _spec("a", rpm=600, tpm=90_000), _spec("b", rpm=300)
    other = CandidateSpec(name="c", route="anthropic/claude", limits=Limits(rpm=50))
    budgets = provider_budgets([a, b, other])
    key = "openai/m@http://127.0.0.1:9/v1|K"
    assert provider_key(a) == key and set(budgets) == {key, "anthropic/claude@anthropic|"}
    assert budgets[key].rpm == 300 and budgets[key].tpm == 90_000
    assert budgets["anthropic/claude@anthropic|"].rpm == 50
    name = limit_name("rpm", provider_key(a))
    assert name.startswith("rpm:openai-m-http-127-0-0-1-9-v1-k-")
    assert limit_name("rpm", "x|A") != limit_name("rpm", "x|a")
    assert bucket_shape(600) == (10.0, 5) and bucket_shape(30) == (0.5, 1)


def _workloads(folder: Path, evalset: Path, api_base: str) -> Path:
    def workload(name: str) -> dict[str, Any]:
        def candidate(cname: str, model: str) -> dict[str, Any]:
            return {
                "name": cname, "route": f"openai/{model}", "api_base": api_base,
                "params": {"max_tokens": 8},
                "pricing": {"input_per_mtok": 0.5, "output_per_mtok": 1.5},
                "limits": {"concurrency": 16, "max_attempts": 4, "timeout_s": 10, "rpm": RPM},
            }  # fmt: skip

        return {
            "name": name, "owner": {"email": f"{name}@example.com"},
            "case": "cost_distillation", "volume_per_day": 20_000_000,
            "fixed_costs_monthly_usd": 1000, "adopted": "2025Q4",
            "eval_set": {"path": str(evalset), "scorer": {"kind": "exact"}},
            "fine_tune": candidate("ft", "ft-good"), "buy": [candidate("frontier", "frontier")],
        }  # fmt: skip

    path = folder / "relitigate.yaml"
    data = {"version": 1, "workloads": [workload("alpha"), workload("beta")]}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.slow
@pytest.mark.parametrize("dialect", ["postgresql"], indirect=True)  # workers share PostgreSQL
def test_two_processes_share_one_rpm_budget(migrated_url: str, tmp_path: Path) -> None:
    from relitigate.simulator.control import SimulatorServer
    from relitigate.simulator.profile import Profile

    profile = Profile.model_validate(
        {
            "seed": 3,
            "models": [
                {"name": "frontier", "accuracy": 0.9, "latency": {"fixed_ms": 5}, "rpm": RPM},
                {"name": "ft-good", "accuracy": 0.9, "latency": {"fixed_ms": 5}},
            ],
        }
    )
    evalset = tmp_path / "triage.jsonl"
    evalset.write_text(
        "".join(json.dumps({"id": f"t-{i:04d}", "input": f"ticket {i}", "target": f"q{i % 5}"})
                + "\n" for i in range(ITEMS)),
        encoding="utf-8",
    )  # fmt: skip
    with SimulatorServer(profile, [evalset]) as sim:
        sync(migrated_url, _workloads(tmp_path, evalset, sim.base_url))
        env = run_env(migrated_url, tmp_path / "home", tmp_path / "data")
        t0 = time.monotonic()
        argv = [sys.executable, "-m", "tests.tasks.rate_limit_child"]
        child_env = {**env, "PYTHONPATH": str(ROOT)}
        children = [
            subprocess.Popen(
                [*argv, name, "frontier", QUARTER],
                cwd=ROOT,
                env=child_env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name in ("alpha", "beta")
        ]
        outs = [child.communicate(timeout=180) for child in children]
        wall = time.monotonic() - t0
        stats = sim.model_stats("frontier")
    for child, (out, err) in zip(children, outs, strict=True):
        assert child.returncode == 0, err[-3000:]
        outcome = json.loads(out.strip().splitlines()[-1])
        assert outcome["status"] == "complete" and outcome["items_called"] == ITEMS
    assert stats["items_answered"] == ITEMS  # one eval set, answered once per workload
    assert stats["completions"] == 2 * ITEMS
    assert stats["duplicate_completions"] == ITEMS  # the other workload's answer, not a re-pay
    assert stats["rate_limited"] <= 0.01 * stats["requests"], stats
    # together they went no faster than the account allows (the first requests included)
    assert 2 * ITEMS / wall <= RPM / 60 * 1.1, wall
