"""Report, history and routing read back decisions written through the registry, on SQLite
and PostgreSQL, through the CLI commands."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from relitigate.cli.app import app
from tests.report.seed import seed_registry


@pytest.fixture
def registry_url(migrated_url: str, session_factory: Any) -> str:
    with session_factory.begin() as session:
        seed_registry(session)
    return migrated_url


def _run(url: str, *args: str) -> str:
    result = CliRunner().invoke(
        app, list(args), env={"RELITIGATE_DATABASE_URL": url, "COLUMNS": "250"}
    )
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return result.stdout


def _by_name(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["workload"]: row for row in doc["workloads"]}


def test_report_json_latest(registry_url: str) -> None:
    doc = json.loads(_run(registry_url, "report", "--format", "json"))
    assert doc["schema"] == "relitigate.report"
    assert doc["schema_version"] == 1
    assert doc["quarter"] is None
    rows = _by_name(doc)
    assert [r["workload"] for r in doc["workloads"]] == [
        "bravo", "charlie", "delta", "alpha", "echo",
    ]  # fmt: skip
    bravo = rows["bravo"]
    assert bravo["quarter"] == "2026Q4"
    assert bravo["verdict"] == "retire"
    assert bravo["fine_tune_quality"] == pytest.approx(0.88)
    assert bravo["fine_tune_quality_low"] == pytest.approx(0.85)
    assert bravo["buy_quality"] == pytest.approx(0.97)
    assert bravo["quality_ratio"] == pytest.approx(0.88 / 0.97)
    assert bravo["advantage"] == pytest.approx(0.88 / 0.97)
    assert bravo["advantage_threshold"] == 0.95
    assert bravo["fine_tune_cost_per_useful_task_usd"] == pytest.approx(4e-6)
    assert bravo["buy_cost_per_useful_task_usd"] == pytest.approx(5e-5)
    assert bravo["net_monthly_savings_usd"] == 5000.0
    assert bravo["failed_gates"] == ["quality_ratio"]
    assert bravo["quarters_since_adoption"] == 7
    assert bravo["projected_erosion_quarter"] == "2026Q4"
    assert (bravo["notice_kind"], bravo["notice_status"]) == ("retire", "pending")
    assert bravo["buy_route"] == "openai/frontier-2026q4"
    assert bravo["recommended_action"] == "retire action"
    assert rows["alpha"]["quarter"] == "2026Q4"
    assert rows["alpha"]["notice_kind"] is None
    assert rows["charlie"]["verdict"] == "inconclusive"
    assert rows["echo"]["verdict"] is None
    assert rows["echo"]["failed_gates"] == []
    totals = doc["totals"]
    assert totals["workloads"] == 5
    assert totals["verdicts"] == {"keep": 1, "watch": 0, "retire": 1, "inconclusive": 2}
    assert totals["undecided"] == ["echo"]
    assert totals["fine_tunes_to_retire"] == 1
    assert totals["retire"] == ["bravo"]
    assert totals["savings_at_stake_monthly_usd"] == 5000.0
    assert totals["net_monthly_savings_usd"] == 2000.0 + 5000.0 - 250.0 + 650.0
    assert totals["notices_pending"] == 2
    # --json stays an alias of --format json.
    alias = json.loads(_run(registry_url, "report", "--json"))
    assert alias["workloads"] == doc["workloads"]


def test_report_for_a_quarter(registry_url: str) -> None:
    doc = json.loads(_run(registry_url, "report", "--quarter", "2026Q3", "--format", "json"))
    assert doc["quarter"] == "2026Q3"
    rows = _by_name(doc)
    assert rows["bravo"]["verdict"] == "watch"
    assert (rows["bravo"]["notice_kind"], rows["bravo"]["notice_status"]) == ("watch", "pending")
    assert rows["charlie"]["verdict"] == "retire"
    assert rows["charlie"]["net_monthly_savings_usd"] == -300.0
    assert rows["echo"]["verdict"] is None
    totals = doc["totals"]
    assert totals["verdicts"] == {"keep": 2, "watch": 1, "retire": 1, "inconclusive": 0}
    # charlie's negative savings are not "at stake": retiring it saves money.
    assert totals["savings_at_stake_monthly_usd"] == 5000.0
    doc2 = json.loads(_run(registry_url, "report", "--quarter", "2026Q2", "--json"))
    assert _by_name(doc2)["alpha"]["verdict"] is None  # alpha skipped 2026Q2
    assert doc2["totals"]["undecided"] == ["alpha", "delta", "echo"]


def test_report_csv_md_table_html(registry_url: str, tmp_path: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(_run(registry_url, "report", "--format", "csv"))))
    assert [r["workload"] for r in rows][:2] == ["bravo", "charlie"]
    assert rows[0]["failed_gates"] == "quality_ratio"
    assert rows[0]["verdict"] == "retire"
    md = _run(registry_url, "report", "--format", "md")
    assert "| bravo | 2026Q4 | retire |" in md
    assert "fine-tunes to retire: 1 (bravo)" in md
    table = _run(registry_url, "report")
    assert "bravo" in table and "retire" in table
    out = tmp_path / "report.html"
    _run(registry_url, "report", "--format", "html", "--output", str(out))
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("data:image/png;base64,") == 5  # overview + 4 decided workloads
    assert 'id="w-bravo"' in page


def test_history(registry_url: str, tmp_path: Path) -> None:
    doc = json.loads(_run(registry_url, "history", "bravo", "--json"))
    assert doc["schema"] == "relitigate.history"
    assert doc["schema_version"] == 1
    assert doc["case"] == "cost_distillation"
    quarters = doc["quarters"]
    assert [q["quarter"] for q in quarters] == ["2026Q1", "2026Q2", "2026Q3", "2026Q4"]
    assert [q["verdict"] for q in quarters] == ["keep", "keep", "watch", "retire"]
    assert quarters[0]["buy_quality"] == pytest.approx(0.7)
    assert quarters[2]["notice_kind"] == "watch"
    plot = tmp_path / "bravo.png"
    text = _run(registry_url, "history", "bravo", "--plot", str(plot))
    assert "2026Q3" in text
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    empty = json.loads(_run(registry_url, "history", "echo", "--json"))
    assert empty["quarters"] == []


def test_routing_json(registry_url: str) -> None:
    doc = json.loads(_run(registry_url, "routing", "--format", "json"))
    assert doc["schema"] == "relitigate.routing"
    assert doc["schema_version"] == 1
    routes = {r["workload"]: r for r in doc["routes"]}
    assert routes["alpha"]["target"] == "fine_tune"
    assert routes["bravo"]["target"] == "buy"
    assert routes["bravo"]["model"] == "openai/frontier-2026q4"
    assert routes["bravo"]["api_key_env"] == "SIM_KEY"
    # charlie: inconclusive after a retire stays on the buy route that retire chose.
    assert routes["charlie"]["target"] == "buy"
    assert routes["charlie"]["model"] == "openai/frontier-2026q3"
    assert "inconclusive in 2026Q4" in routes["charlie"]["reason"]
    # delta: inconclusive after a keep stays on the fine-tune, and says why.
    assert routes["delta"]["target"] == "fine_tune"
    assert "150 items < 200" in routes["delta"]["reason"]
    assert routes["echo"]["target"] == "fine_tune"
    assert routes["echo"]["verdict"] is None
    assert [d["model_name"] for d in doc["model_list"]] == list(routes)


def test_json_and_table_commands_do_not_import_pandas(registry_url: str) -> None:
    """report (table, json, md) and history (table, json) run without pandas, matplotlib,
    or the other command modules; csv goes through pandas."""
    code = (
        "import sys\n"
        "from relitigate.cli.app import main\n"
        "runs = [['report', '--json'], ['report'], ['report', '--format', 'md'],\n"
        "        ['history', 'bravo', '--json'], ['history', 'bravo']]\n"
        "for argv in runs:\n"
        "    sys.argv = ['relitigate', *argv]\n"
        "    main()\n"
        "heavy = ('pandas', 'numpy', 'matplotlib', 'relitigate.cli.deploy_cmds',\n"
        "         'relitigate.cli.registry_cmds', 'relitigate.cli.notice_cmds')\n"
        "bad = [m for m in heavy if m in sys.modules]\n"
        "assert not bad, bad\n"
        "sys.argv = ['relitigate', 'report', '--format', 'csv']\n"
        "main()\n"
        "assert 'pandas' in sys.modules\n"
    )
    env = {**os.environ, "RELITIGATE_DATABASE_URL": registry_url}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
