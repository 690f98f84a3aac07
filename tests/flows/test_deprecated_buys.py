"""A buy alternative deprecated within the horizon is neither compared nor benchmarked.

Embedded path (Prefect's test harness) against the simulator, whose counters prove that no
item was paid for on the deprecated model: in a plain run (one workload decided on the whole
set, one in sequential waves), in ``run --force`` and in ``run --challenger``. The decision
and its memo still say which buy left the comparison, and why.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.flows.quarter_support import candidate, cli, completions, run_quarter

QUARTER = "2026Q2"
GOING = date.today() + timedelta(days=30)
"""The deprecated buy's date: within the default 90-day horizon."""
RETIRED_KEY = "RELITIGATE_TEST_RETIRED_MODEL_KEY"
"""The deprecated buy's key variable, unset: preflight checks only the buys the plan calls."""
SIZES = {"whole": 120, "waves": 320}
"""Items per workload: ``whole`` turns sequential evaluation off, ``waves`` has two waves."""
PROFILE = {
    "seed": 5,
    "models": [
        {"name": "ft-strong", "accuracy": 0.97, "latency": {"fixed_ms": 1}},
        {"name": "frontier-good", "accuracy": 0.90, "latency": {"fixed_ms": 1}},
        {"name": "frontier-old", "accuracy": 0.99, "latency": {"fixed_ms": 1}},
        {"name": "frontier-cheap", "accuracy": 0.85, "latency": {"fixed_ms": 1}},
    ],
}


def _evalset(path: Path, n: int) -> None:
    tag = path.stem
    lines = (
        json.dumps({"id": f"{tag}-{i:04d}", "input": f"{tag} {i}", "target": f"q{i % 5}"})
        for i in range(n)
    )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _file(api_base: str) -> dict[str, Any]:
    def workload(name: str) -> dict[str, Any]:
        return {
            "name": name,
            "owner": {"email": f"{name}@example.com", "slack_channel": f"#{name}"},
            "case": "cost_distillation",
            "volume_per_day": 20_000_000,
            "fixed_costs_monthly_usd": 1000,
            "adopted": "2025Q4",
            "eval_set": {"path": f"{name}.jsonl", "scorer": {"kind": "exact"}},
            "fine_tune": candidate("ft", "ft-strong", api_base, price=0.05),
            "buy": [
                # its key is not set: a buy that is not called must not stop the quarter
                {**candidate("old", "frontier-old", api_base), "api_key_env": RETIRED_KEY},
                candidate("frontier", "frontier-good", api_base),
            ],
            "catalog": {"tags": ["cheap"]},
            **({"thresholds": {"sequential": False}} if name == "whole" else {}),
        }

    return {
        "version": 1,
        "catalog": [{**candidate("cheap", "frontier-cheap", api_base, 0.1), "tags": ["cheap"]}],
        "deprecations": {"routes": {"openai/frontier-old": GOING.isoformat()}},
        "workloads": [workload(name) for name in SIZES],
    }


@pytest.fixture
def dialect() -> str:
    """SQLite only: the registry's deprecation dates are tested on both databases."""
    return "sqlite"


@pytest.fixture()
def world(
    harness: None,
    migrated_url: str,
    session_factory: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[dict[str, Any]]:
    from registry.sync import sync_workloads
    from relitigate.simulator import Profile, SimulatorServer

    evalsets = [tmp_path / f"{name}.jsonl" for name in SIZES]
    for path in evalsets:
        _evalset(path, SIZES[path.stem])
    for name in ("RELITIGATE_SLACK_TOKEN", "RELITIGATE_SLACK_PLATFORM_CHANNEL",
                 "RELITIGATE_GPU_DEPLOYMENT", "PREFECT_API_URL"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv(RETIRED_KEY, raising=False)
    monkeypatch.setenv("RELITIGATE_DATABASE_URL", migrated_url)
    monkeypatch.setenv("RELITIGATE_DATA_DIR", str(tmp_path / "data"))
    with SimulatorServer(Profile.model_validate(PROFILE), evalsets) as sim:
        path = tmp_path / "relitigate.yaml"
        path.write_text(yaml.safe_dump(_file(sim.base_url)), encoding="utf-8")
        with session_factory.begin() as session:
            sync_workloads(session, path)
        yield {"sim": sim, "sessions": session_factory}


def _stored(sessions: Any) -> dict[str, tuple[list[str], list[str]]]:
    """Each workload's decision: the buys it compared, and its reasons."""
    from sqlalchemy import select

    from registry.models import Decision, Workload

    with sessions.begin() as session:
        rows = session.execute(
            select(Workload.name, Decision.metrics).join(Decision.workload)
        ).all()
        return {
            name: ([b["name"] for b in metrics["buys"]], list(metrics["reasons"]))
            for name, metrics in rows
        }


@pytest.mark.slow
def test_a_deprecating_buy_is_not_benchmarked_and_the_memo_says_why(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = world["sim"]
    left = (
        f"buy alternative old left the comparison: openai/frontier-old is deprecated on "
        f"{GOING.isoformat()}"
    )
    decided = {r.workload: r for r in run_quarter(QUARTER)}
    assert sorted(decided) == sorted(SIZES) == ["waves", "whole"]
    calls = completions(sim)
    assert calls["frontier-old"] == 0  # nothing paid for the buy that leaves
    assert calls["ft-strong"] == sum(SIZES.values())
    assert calls["frontier-good"] > 0 and calls["frontier-cheap"] > 0
    for name, summary in decided.items():
        assert any(r.startswith(left) for r in summary.reasons), (name, summary.reasons)
        memo = Path(summary.memo_path).read_text("utf-8")
        assert left in memo
    stored = _stored(world["sessions"])
    for name in SIZES:
        buys, reasons = stored[name]
        assert buys == ["frontier", "cheap"], (name, buys)  # the remaining buys, compared
        assert any(left in r for r in reasons)

    # a forced re-decision and a catalog challenger follow the same plan: still nothing paid
    assert cli(monkeypatch, "run", "--force", "--quarter", QUARTER, "--json") == 0
    forced = json.loads(capsys.readouterr().out)["decisions"]
    assert {d["workload"]: d["revision"] for d in forced} == {"waves": 2, "whole": 2}
    assert all(any(left in r for r in d["reasons"]) for d in forced)
    assert cli(monkeypatch, "run", "--challenger", "cheap", "--quarter", QUARTER, "--json") == 0
    again = json.loads(capsys.readouterr().out)["decisions"]
    assert {d["workload"]: d["revision"] for d in again} == {"waves": 3, "whole": 3}
    assert completions(sim) == calls  # re-decided from the stored results only
    assert {name: buys for name, (buys, _) in _stored(world["sessions"]).items()} == {
        name: ["frontier", "cheap"] for name in SIZES
    }
    # `bench` leaves it out too, and says so
    assert cli(monkeypatch, "bench", "whole", "--quarter", QUARTER) == 0
    assert "Not benchmarked: old (deprecated within the horizon" in capsys.readouterr().out
    assert completions(sim) == calls
