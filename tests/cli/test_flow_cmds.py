"""``relitigate bench``: its ``--json`` output (nothing else on stdout), the progress bar it
draws, and the ``--format`` choices of the reading commands.

``bench`` runs in this process through the console entry point, against the provider
simulator (loopback), on SQLite: the command line is what is tested here; the benchmark
itself is tested on both databases elsewhere.
"""

from __future__ import annotations

import io
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

ITEMS = 30
PROFILE = {
    "seed": 7,
    "models": [
        {"name": "ft-model", "accuracy": 0.9, "latency": {"fixed_ms": 1}},
        {"name": "buy-model", "accuracy": 0.8, "latency": {"fixed_ms": 1}},
    ],
}


@pytest.fixture
def dialect() -> str:
    return "sqlite"


def _candidate(name: str, model: str, api_base: str) -> dict[str, Any]:
    return {
        "name": name,
        "route": f"openai/{model}",
        "api_base": api_base,
        "params": {"max_tokens": 8},
        "pricing": {"input_per_mtok": 0.5, "output_per_mtok": 1.5},
        "limits": {"concurrency": 8, "max_attempts": 2, "timeout_s": 10},
    }


def _main(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    from relitigate.cli.app import main

    monkeypatch.setattr(sys, "argv", ["relitigate", *args])
    try:
        main()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0


def test_bench_json_is_all_stdout_holds_and_a_second_bench_pays_nothing(
    migrated_url: str,
    session_factory: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from registry.sync import sync_workloads
    from relitigate.simulator import Profile, SimulatorServer

    evalset = tmp_path / "triage.jsonl"
    evalset.write_text("".join(
        json.dumps({"id": f"t-{i:03d}", "input": f"ticket {i}", "target": f"q{i % 3}"}) + "\n"
        for i in range(ITEMS)
    ))  # fmt: skip
    monkeypatch.setenv("RELITIGATE_DATABASE_URL", migrated_url)
    monkeypatch.setenv("RELITIGATE_DATA_DIR", str(tmp_path / "data"))
    with SimulatorServer(Profile.model_validate(PROFILE), [evalset]) as sim:
        workloads = {"version": 1, "workloads": [{
            "name": "triage", "owner": {"email": "o@example.com"}, "case": "cost_distillation",
            "volume_per_day": 20_000_000, "adopted": "2025Q4",
            "eval_set": {"path": str(evalset), "scorer": {"kind": "exact"}},
            "fine_tune": _candidate("ft", "ft-model", sim.base_url),
            "buy": [_candidate("frontier", "buy-model", sim.base_url)],
        }]}  # fmt: skip
        path = tmp_path / "relitigate.yaml"
        path.write_text(yaml.safe_dump(workloads))
        with session_factory.begin() as session:
            sync_workloads(session, path)
        capsys.readouterr()
        assert _main(monkeypatch, "bench", "triage", "--quarter", "2026Q1", "--json") == 0
        first = json.loads(capsys.readouterr().out)  # the whole of stdout is the document
        assert _main(monkeypatch, "bench", "triage", "--quarter", "2026Q1", "--json") == 0
        second = json.loads(capsys.readouterr().out)
        served = {name: m["completions"] for name, m in sim.stats()["models"].items()}

    assert (first["workload"], first["quarter"]) == ("triage", "2026Q1")
    sides = {c["candidate"]: c for c in first["candidates"]}
    assert set(sides) == {"ft", "frontier"}
    for side in sides.values():
        assert side["status"] == "complete" and side["items"] == ITEMS
        assert side["errors"] == 0 and side["run"]["items_called"] == ITEMS
        assert side["quality"] == pytest.approx(side["passed"] / ITEMS)
        assert side["cost_per_useful_task_usd"] == pytest.approx(
            side["cost_per_call_usd"] * ITEMS / side["passed"]
        )
    assert served == {"ft-model": ITEMS, "buy-model": ITEMS}
    # the same quarter again: every item is checkpointed, nothing is called or paid twice
    assert [c["run"]["items_called"] for c in second["candidates"]] == [0, 0]
    assert [c["run"]["items_skipped"] for c in second["candidates"]] == [ITEMS, ITEMS]
    assert [c["passed"] for c in second["candidates"]] == [c["passed"] for c in first["candidates"]]


def test_the_progress_bar_shows_items_cost_and_errors() -> None:
    from rich.console import Console

    from relitigate.cli.progress_bar import ProgressBars
    from tasks.evaluation.types import ProgressUpdate

    out = io.StringIO()
    with ProgressBars(Console(file=out, width=120, force_terminal=False)) as bars:
        for done in range(1, 11):
            bars(ProgressUpdate(candidate="ft", done=done, total=10, passed=done - 1, errors=1,
                                cost_usd=Decimal("0.012345")))  # fmt: skip
    text = out.getvalue()
    assert "ft" in text and "10/10" in text and "$0.0123" in text and "errors 1" in text


def test_format_choices_are_the_formats_the_report_service_writes() -> None:
    from relitigate.cli.report_cmds import ReportFormat, RoutingFormat
    from tasks.report.service import REPORT_FORMATS, ROUTING_FORMATS

    assert tuple(ReportFormat) == REPORT_FORMATS
    assert tuple(RoutingFormat) == ROUTING_FORMATS


@pytest.mark.parametrize(("command", "words"), [("report", "[table|json|csv|md|html]"),
                                                ("routing", "[litellm|json]")])  # fmt: skip
def test_help_lists_the_format_choices(command: str, words: str) -> None:
    from typer.testing import CliRunner

    from relitigate.cli.app import build_app

    result = CliRunner().invoke(build_app(command), [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and words in result.output
