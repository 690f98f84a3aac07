"""``relitigate propose`` end to end against the simulator: every buy under every prompt
variant, the frame's checks and the memo, recorded apart from workloads; a proposal that
earns a fine-tune is promoted to a workload; bad input changes nothing."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ITEMS = 64
PROFILE = {
    "seed": 11,
    "models": [
        {"name": "frontier-a", "accuracy": 0.9, "latency": {"fixed_ms": 1}},
        {"name": "frontier-b", "accuracy": 0.8, "latency": {"fixed_ms": 1}},
        {"name": "checkpoint", "accuracy": 0.93, "latency": {"fixed_ms": 1}},
    ],
}
VARIANTS = [
    {"name": "zero-shot"},
    {"name": "expert", "system": "You route support tickets to a queue."},
    {"name": "expert-4-shot", "system": "You route support tickets to a queue.", "few_shot": 4},
]


@pytest.fixture
def dialect() -> str:
    return "sqlite"


def _candidate(name: str, model: str, base: str, price: float) -> dict[str, Any]:
    return {
        "name": name, "route": f"openai/{model}", "api_base": base, "params": {"max_tokens": 8},
        "pricing": {"input_per_mtok": price, "output_per_mtok": 4 * price},
        "limits": {"concurrency": 16, "max_attempts": 2, "timeout_s": 10},
    }  # fmt: skip


def _proposal(name: str, base: str, **fields: Any) -> dict[str, Any]:
    return {
        "name": name, "owner": {"email": "lead@example.com"}, "case": "cost_distillation",
        "fixed_costs_monthly_usd": 1000, "eval_set": {"path": "tickets.jsonl"},
        "buy": [_candidate("frontier-a", "frontier-a", base, 5.0),
                _candidate("frontier-b", "frontier-b", base, 1.0)],
        "prompt_variants": VARIANTS, "thresholds": {"min_items": 50}, **fields,
    }  # fmt: skip


def _main(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    from relitigate.cli.app import main

    monkeypatch.setattr(sys, "argv", ["relitigate", *args])
    try:
        main()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0


def test_propose_checks_memo_records_and_promotes(
    migrated_url: str,
    session_factory: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    dump_registry: Any,
) -> None:
    from registry.models import Proposal, Workload
    from relitigate.simulator import Profile, SimulatorServer

    evalset = tmp_path / "tickets.jsonl"
    evalset.write_text("".join(
        json.dumps({"id": f"t{i}", "input": f"ticket {i}: which queue?", "target": f"q{i % 4}"})
        + "\n" for i in range(ITEMS)
    ))  # fmt: skip
    monkeypatch.setenv("RELITIGATE_DATABASE_URL", migrated_url)
    monkeypatch.setenv("RELITIGATE_DATA_DIR", str(tmp_path))
    with SimulatorServer(Profile.model_validate(PROFILE), [evalset]) as sim:
        base = sim.base_url
        bad = tmp_path / "bad.yaml"
        bad.write_text(yaml.safe_dump({"version": 1, "proposals": [
            _proposal("x", base, volume_per_day=1, prompt_variant=VARIANTS)]}))  # fmt: skip
        before = dump_registry(migrated_url)
        assert _main(monkeypatch, "propose", str(bad)) == 2
        assert "prompt_variant" in capsys.readouterr().err
        assert dump_registry(migrated_url) == before

        proposals = tmp_path / "proposals.yaml"
        proposals.write_text(yaml.safe_dump({"version": 1, "proposals": [
            _proposal("small", base, volume_per_day=3_000_000,
                      fine_tune_cost_per_call_usd=0.000002),
            _proposal("large", base, volume_per_day=20_000_000,
                      fine_tune=_candidate("ckpt", "checkpoint", base, 0.05)),
        ]}))  # fmt: skip
        assert _main(monkeypatch, "propose", str(proposals)) == 0
        out = capsys.readouterr().out
        assert "small: buy" in out and "large: fine_tune" in out

        memo = (tmp_path / "proposals" / "small" / "memo.md").read_text(encoding="utf-8")
        assert "**Recommendation: BUY" in memo
        assert "3,000,000 calls/day < 10,000,000 calls/day" in memo
        for variant in ("zero-shot", "expert", "expert-4-shot"):
            assert f"| `frontier-a` **best** | {variant} |" in memo or (
                f"| `frontier-a` | {variant} |" in memo
            )
        assert "quality stops improving at `zero-shot`" in memo  # the simulator ignores prompts
        assert "Break-even volume | " in memo and "calls/day (fixed $1,000/month" in memo

        large = (tmp_path / "proposals" / "large" / "memo.md").read_text(encoding="utf-8")
        assert "**Recommendation: FINE-TUNE" in large and "checkpoint `ckpt`" in large

        workloads = tmp_path / "relitigate.yaml"
        workloads.write_text("# production workloads\nversion: 1\nworkloads: []\n")
        assert _main(monkeypatch, "proposals", "promote", "small", "--workloads",
                     str(workloads)) == 2  # fmt: skip
        assert "no fine-tune" in capsys.readouterr().err
        assert _main(monkeypatch, "proposals", "promote", "large", "--workloads",
                     str(workloads)) == 0  # fmt: skip
        assert workloads.read_text().startswith("# production workloads\n")
        capsys.readouterr()
        # promoting syncs the whole file as `sync` does: a cause it records is announced
        with evalset.open("a") as more:
            more.write(json.dumps({"id": "t-new", "input": "which?", "target": "q1"}) + "\n")
        assert _main(monkeypatch, "proposals", "promote", "large", "--workloads",
                     str(workloads)) == 0  # fmt: skip
        assert "1 trigger cause(s) for large" in capsys.readouterr().out

    with session_factory() as session:
        rows = {p.name: p for p in session.query(Proposal)}
        workload = session.query(Workload).filter_by(name="large").one()
        assert rows["large"].workload_id == workload.id and rows["large"].promoted_at
        assert rows["small"].workload_id is None and rows["small"].recommendation == "buy"
        evidence = rows["large"].evidence
        assert len(evidence["runs"]) == 6 and evidence["fine_tune"]["name"] == "ckpt"
        assert workload.volume_per_day == 20_000_000
