"""The decide task with facts measured from production, end to end against the simulator:
a workload is synced, benchmarked once, then decided again under each declaration (the runs
are reused; only the facts change)."""

from __future__ import annotations

import asyncio
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from registry.models import MeasuredFact
from registry.sync import sync_workloads
from relitigate.simulator import Profile, SimulatorServer
from tasks.benchmark import run_benchmark
from tasks.context import RegistryContext
from tasks.decide import Replacing, record_decision
from tasks.settings import Settings

ITEMS = 220
QUARTER = "2026Q4"
TODAY = date(2026, 11, 25)
PROFILE = {
    "seed": 5,
    "models": [
        {"name": "ft-strong", "accuracy": 0.97, "latency": {"fixed_ms": 1}},
        {"name": "frontier", "accuracy": 0.92, "latency": {"fixed_ms": 1}},
    ],
}


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _candidate(name: str, model: str, base: str, price: float) -> dict[str, Any]:
    return {
        "name": name, "route": f"openai/{model}", "api_base": base, "params": {"max_tokens": 8},
        "pricing": {"input_per_mtok": price, "output_per_mtok": 3 * price},
        "limits": {"concurrency": 16, "max_attempts": 2, "timeout_s": 10},
    }  # fmt: skip


def _workload(base: str, **facts: Any) -> dict[str, Any]:
    return {
        "version": 1,
        "workloads": [
            {
                "name": "triage", "owner": {"email": "o@example.com"},
                "case": "cost_distillation", "fixed_costs_monthly_usd": 1000,
                "adopted": "2025Q4", "volume_per_day": 20_000_000,
                "eval_set": {"path": "triage.jsonl", "scorer": {"kind": "exact"}},
                "fine_tune": _candidate("ft", "ft-strong", base, 0.05),
                "buy": [_candidate("frontier", "frontier", base, 0.5)],
                **facts,
            }
        ],
    }  # fmt: skip


@pytest.fixture
def world(tmp_path: Path, session_factory: Any, migrated_url: str) -> Any:
    evalset = _jsonl(
        tmp_path / "triage.jsonl",
        [{"id": f"t{i}", "input": f"ticket {i}: which queue?", "target": f"q{i % 5}"}
         for i in range(ITEMS)],
    )  # fmt: skip
    # A drifted sample: long inputs in words the eval set never uses, that the fine-tune
    # labels "q0" (the simulator knows them as items whose answer is q0).
    drifted = _jsonl(
        tmp_path / "drifted.jsonl",
        [{"id": f"d{i}", "target": "q0",
          "input": f"escalation {i}: payroll discrepancy after the merger, contract clause "
                   f"{i} disputed by counsel, statutory remedy requested urgently"}
         for i in range(120)],
    )  # fmt: skip
    _jsonl(tmp_path / "steady.jsonl", [{"input": f"ticket {i}: which queue?"} for i in range(150)])
    days = [TODAY - timedelta(days=i) for i in range(28)]
    (tmp_path / "calls.csv").write_text(
        "date,calls\n" + "".join(f"{d},{25_000_000}\n" for d in days), encoding="utf-8"
    )
    settings = Settings(data_dir=tmp_path, database_url=migrated_url)
    ctx = RegistryContext(settings=settings, sessions=session_factory)
    with SimulatorServer(Profile.model_validate(PROFILE), [evalset, drifted]) as sim:
        path = tmp_path / "relitigate.yaml"

        def sync(**facts: Any) -> None:
            path.write_text(yaml.safe_dump(_workload(sim.base_url, **facts)), encoding="utf-8")
            with session_factory.begin() as session:
                sync_workloads(session, path)

        def decide(**facts: Any) -> Any:
            sync(**facts)
            return record_decision(
                ctx, "triage", QUARTER, replacing=Replacing(force=True), today=TODAY
            )

        sync()
        for name in ("ft", "frontier"):
            asyncio.run(run_benchmark(ctx, "triage", name, QUARTER, retry_level=0))
        yield decide, session_factory


def _facts(sessions: Any) -> list[MeasuredFact]:
    with sessions() as session:
        return list(session.scalars(select(MeasuredFact).order_by(MeasuredFact.id)))


def test_measured_volume_and_drift_through_the_decide_task(world: Any) -> None:
    decide, sessions = world
    typed = decide()
    assert typed.verdict == "keep"

    from_csv = decide(volume_per_day={"csv": {"path": "calls.csv"}})
    assert from_csv.verdict == "keep"
    memo = Path(from_csv.memo_path).read_text(encoding="utf-8")
    assert "## Measured facts" in memo and "25,000,000 calls/day from csv" in memo

    unreadable = decide(volume_per_day={"csv": {"path": "missing.csv"}})
    assert unreadable.verdict == "watch"
    assert any("could not be read" in r and "missing.csv" in r for r in unreadable.reasons)

    steady = decide(production_sample={"path": "steady.jsonl"})
    assert steady.verdict == "keep"

    drifted = decide(production_sample={"path": "drifted.jsonl"})
    assert drifted.verdict == "watch"
    assert any("refresh it" in r for r in drifted.reasons)
    memo = Path(drifted.memo_path).read_text(encoding="utf-8")
    assert "Production sample: file" in memo and "**drifted**" in memo

    facts = [(f.kind, f.value, f.error is None) for f in _facts(sessions)]
    assert facts == [
        ("volume", pytest.approx(25_000_000), True),
        ("volume", None, False),
        ("drift", 0.0, True),
        ("drift", 3.0, True),
    ]
