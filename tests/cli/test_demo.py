"""The README's main job: ``relitigate demo`` from a clean folder, as a user runs it."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.reliability.guard.support import GUARD_DIR, guard_attempts


@pytest.mark.slow
def test_demo_shows_keep_retire_with_notice_inconclusive_and_a_deprecation(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RELITIGATE_", "PREFECT_"))}
    env["RELITIGATE_SLACK_TOKEN"] = "xo" + "xb-must-not-be-used-by-the-demo"
    # the socket guard: every process of the demo refuses and logs non-loopback connections
    guard_log = tmp_path / "guard.log"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(GUARD_DIR), env.get("PYTHONPATH")) if p)
    env["RELITIGATE_GUARD_LOG"] = str(guard_log)
    out = subprocess.run(
        [sys.executable, "-m", "relitigate", "demo", "--dir", str(folder)],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    assert guard_attempts(guard_log) == []  # no connection outside loopback
    text = out.stdout
    for word in ("keep", "watch", "retire", "inconclusive", "simulator", "The retire notice reads",
                 "The deprecation's watch notice reads"):  # fmt: skip
        assert word in text, word

    db = sqlite3.connect(folder / "registry.sqlite3")
    verdicts = {
        (w, q): v
        for w, q, v in db.execute(
            "select w.name, d.quarter, d.verdict from decisions d "
            "join workloads w on w.id = d.workload_id"
        )
    }
    assert len(verdicts) == 12  # three workloads x four quarters
    assert {verdicts[("contract-review", q)] for q in ("2026Q1", "2026Q2", "2026Q3")} == {"keep"}
    # still ahead of every buy, but its base model is deprecated within the horizon (rule 9)
    assert verdicts[("contract-review", "2026Q4")] == "watch"
    assert verdicts[("ticket-triage", "2026Q1")] == "keep"
    assert "watch" in {verdicts[("ticket-triage", q)] for q in ("2026Q2", "2026Q3")}
    assert verdicts[("ticket-triage", "2026Q4")] == "retire"
    # a flaky provider is never reported as erosion
    assert verdicts[("invoice-fields", "2026Q4")] == "inconclusive"
    notices = {
        (w, q, k): (s, json.loads(p)["text"])
        for w, q, k, s, p in db.execute(
            "select w.name, n.quarter, n.kind, n.status, n.payload from notices n "
            "join workloads w on w.id = n.workload_id"
        )
    }
    assert ("ticket-triage", "2026Q4", "retire") in notices
    assert ("invoice-fields", "2026Q4", "inconclusive") in notices
    assert ("contract-review", "2026Q4", "watch") in notices
    # the demo never uses a token from the caller's environment: nothing was sent
    assert {status for status, _ in notices.values()} == {"pending"}
    assert (folder / "memos" / "ticket-triage" / "2026Q4" / "memo.md").is_file()
    assert (folder / "memos" / "ticket-triage" / "2026Q4" / "trend.png").is_file()
    # the fourth quarter's catalog challenger, against both fine-tunes
    memo = (folder / "memos" / "ticket-triage" / "2026Q4" / "memo.md").read_text("utf-8")
    assert "`frontier-flash`" in memo
    legal = (folder / "memos" / "contract-review" / "2026Q4" / "memo.md").read_text("utf-8")
    assert "frontier-flash" in legal
    # and the contract-review base model's deprecation: in its memo and its owner's notice,
    # with the date and what must happen before it
    going = (date.today() + timedelta(days=45)).isoformat()
    assert f"base model openai/sim-contracts-base-2025 is deprecated on {going}" in legal
    watch = notices[("contract-review", "2026Q4", "watch")][1]
    assert watch.startswith("Watch: contract-review fine-tune's model is being deprecated")
    assert f"Keep contracts-ft for now, but before {going}" in watch
    assert "retrain it on a current base model" in watch
