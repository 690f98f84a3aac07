"""The README's main job: ``relitigate demo`` from a clean folder, as a user runs it."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.reliability.guard.support import GUARD_DIR, guard_attempts


@pytest.mark.slow
def test_demo_shows_keep_retire_with_notice_and_inconclusive(tmp_path: Path) -> None:
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
    for word in ("keep", "watch", "retire", "inconclusive", "simulator", "The retire notice reads"):
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
    assert {verdicts[("contract-review", q)] for q in ("2026Q1", "2026Q2", "2026Q3", "2026Q4")} == {
        "keep"
    }
    assert verdicts[("ticket-triage", "2026Q1")] == "keep"
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
    # the demo never uses a token from the caller's environment: nothing was sent
    assert {status for status, _ in notices.values()} == {"pending"}
    assert (folder / "memos" / "ticket-triage" / "2026Q4" / "memo.md").is_file()
    assert (folder / "memos" / "ticket-triage" / "2026Q4" / "trend.png").is_file()
    # the fourth quarter's catalog challenger and the triage base model's deprecation
    memo = (folder / "memos" / "ticket-triage" / "2026Q4" / "memo.md").read_text("utf-8")
    assert "`frontier-flash`" in memo
    assert (
        "Note: openai/sim-triage-base-2025 is deprecated on"
        in notices[("ticket-triage", "2026Q4", "retire")][1]
    )
    assert "frontier-flash" in (
        folder / "memos" / "contract-review" / "2026Q4" / "memo.md"
    ).read_text("utf-8")
