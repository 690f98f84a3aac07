"""Sequential evaluation end to end: the workload flow calls the buys in waves against the
provider simulator, stops when the verdict is settled, and never pays twice.

Eval sets of 400 items give three waves (200, 300, 400 items). The simulator's counters say
what was paid for; the registry says what the decision used.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from tests.flows.quarter_support import candidate, completions, run_quarter

ITEMS = 400
PROFILE = {
    "seed": 5,
    "models": [
        {"name": "ft-weak", "accuracy": 0.70, "latency": {"fixed_ms": 1}},
        {"name": "ft-border", "accuracy": 0.874, "latency": {"fixed_ms": 1}},
        {"name": "ft-off", "accuracy": 0.70, "latency": {"fixed_ms": 1}},
        *(
            {"name": f"frontier-{w}", "accuracy": 0.92, "latency": {"fixed_ms": 1}}
            for w in ("weak", "border", "off")
        ),
    ],
}


def _evalset(path: Path) -> None:
    tag = path.stem
    rows = [{"id": f"{tag}-{i:04d}", "input": f"{tag} {i}: which queue?", "target": f"q{i % 5}"}
            for i in range(ITEMS)]  # fmt: skip
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")


def _workloads(api_base: str) -> dict[str, Any]:
    def workload(name: str, **extra: Any) -> dict[str, Any]:
        return {
            "name": name,
            "owner": {"email": f"{name}@example.com", "slack_channel": f"#{name}"},
            "case": "cost_distillation",
            "volume_per_day": 20_000_000,
            "fixed_costs_monthly_usd": 1000,
            "eval_set": {"path": f"{name}.jsonl", "scorer": {"kind": "exact"}},
            "fine_tune": candidate("ft", f"ft-{name}", api_base, price=0.05),
            "buy": [candidate("frontier", f"frontier-{name}", api_base)],
            **extra,
        }

    return {
        "version": 1,
        "workloads": [
            workload("weak"),
            workload("border"),
            workload("off", thresholds={"sequential": False}),
        ],
    }


@pytest.fixture()
def waves_scenario(
    harness: None,
    migrated_url: str,
    session_factory: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[dict[str, Any]]:
    from registry.sync import sync_workloads
    from relitigate.simulator import Profile, SimulatorServer

    evalsets = [tmp_path / f"{name}.jsonl" for name in ("weak", "border", "off")]
    for path in evalsets:
        _evalset(path)
    monkeypatch.setenv("RELITIGATE_DATABASE_URL", migrated_url)
    monkeypatch.setenv("RELITIGATE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RELITIGATE_RETRY_COOLDOWN_S", "0")
    monkeypatch.delenv("RELITIGATE_SLACK_TOKEN", raising=False)
    monkeypatch.delenv("RELITIGATE_SLACK_PLATFORM_CHANNEL", raising=False)
    monkeypatch.delenv("RELITIGATE_GPU_DEPLOYMENT", raising=False)
    with SimulatorServer(Profile.model_validate(PROFILE), evalsets) as sim:
        path = tmp_path / "relitigate.yaml"
        path.write_text(yaml.safe_dump(_workloads(sim.base_url)), encoding="utf-8")
        with session_factory.begin() as session:
            sync_workloads(session, path)
        yield {"sim": sim, "sessions": session_factory}


def _waves(sessions: Any, workload: str, quarter: str) -> dict[str, Any] | None:
    from registry.models import SequentialEvaluation, Workload

    with sessions() as session:
        row = session.scalars(
            select(SequentialEvaluation)
            .join(Workload, Workload.id == SequentialEvaluation.workload_id)
            .where(Workload.name == workload, SequentialEvaluation.quarter == quarter)
        ).one_or_none()
        if row is None:
            return None
        return {"state": row.state, "stopped": row.stopped_at_wave, "done": row.waves_done,
                "sizes": row.wave_sizes, "buy_items": row.buy_items, "saved": row.saved_usd,
                "looks": [look["step"] for look in row.looks]}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("dialect", ["postgresql"])  # SQLite: the resume test and the demo
def test_a_clear_case_stops_early_a_borderline_one_runs_to_the_end_and_off_runs_in_full(
    waves_scenario: dict[str, Any],
) -> None:
    sim, sessions = waves_scenario["sim"], waves_scenario["sessions"]
    rows = {r.workload: r for r in run_quarter("2026Q2")}
    paid = completions(sim)

    # 0.70 against 0.92: erosion is settled on the first wave's 200 items
    assert rows["weak"].verdict == "retire", rows["weak"].reasons
    assert paid["frontier-weak"] == 200 and paid["ft-weak"] == ITEMS  # the fine-tune: whole set
    weak = _waves(sessions, "weak", "2026Q2")
    assert weak is not None and weak["sizes"] == [200, 300, 400]
    assert (weak["state"], weak["stopped"], weak["looks"]) == ("stopped", 1, ["retire"])
    assert weak["buy_items"] == {"frontier": 200} and weak["saved"] > 0
    used = rows["weak"].sequential
    assert used is not None and used["items_used"] == 200 and used["stopped_at_wave"] == 1
    memo = Path(rows["weak"].memo_path or "").read_text(encoding="utf-8")
    assert "Items used (sequential evaluation)" in memo and "200 of 400" in memo

    # at the bar (0.874 / 0.92 = 0.95): no look settles it, every wave is called
    border = _waves(sessions, "border", "2026Q2")
    assert border is not None and border["state"] == "ended", border
    assert border["looks"] == ["continue", "continue", "end"]
    assert paid["frontier-border"] == ITEMS
    assert rows["border"].sequential is not None
    assert rows["border"].sequential["stopped_at_wave"] is None

    # sequential: false: every item, no waves
    assert rows["off"].verdict == "retire"
    assert paid["frontier-off"] == ITEMS and _waves(sessions, "off", "2026Q2") is None
    assert rows["off"].sequential is None

    # run --force: decided again from the stored results, the same stop, nothing paid
    forced = {r.workload: r for r in run_quarter("2026Q2", force=True)}
    assert not forced["weak"].reused and forced["weak"].verdict == "retire"
    assert completions(sim) == paid
    assert _waves(sessions, "weak", "2026Q2") == weak
    assert all(m["duplicate_completions"] == 0 for m in sim.stats()["models"].values())


@pytest.mark.slow
def test_a_wave_interrupted_half_way_resumes_without_paying_again(
    waves_scenario: dict[str, Any],
) -> None:
    from tasks.benchmark import run_benchmark
    from tasks.context import opened
    from tasks.waves import setup_waves

    sim = waves_scenario["sim"]
    with opened() as ctx:
        setup = setup_waves(ctx, "border", "2026Q3", None)
        assert setup is not None and setup.sizes == (200, 300, 400)
        # the second wave's benchmark stops part-way (its budget runs out, as a kill would)
        partial = asyncio.run(
            run_benchmark(ctx, "border", "frontier", "2026Q3", wave=2, budget_usd=0.0004)
        )
    assert partial.status == "incomplete" and 0 < partial.items_called < 300
    first = completions(sim)["frontier-border"]
    rows = {r.workload: r for r in run_quarter("2026Q3", workloads=["border"])}
    assert rows["border"].sequential is not None
    stats = sim.stats()["models"]["frontier-border"]
    assert stats["completions"] == ITEMS  # the whole set once: the first try's items not again
    assert stats["duplicate_completions"] == 0 and first < ITEMS
