"""The result journal: results received before a hard kill are never paid for again, even
when none of them had reached the registry's batched checkpoint."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from registry.runs import ItemResultRow
from tasks.journal import ResultJournal, journal_path

ROOT = Path(__file__).resolve().parents[2]
ITEMS = 60


def test_rows_round_trip_and_a_torn_last_line_is_skipped(tmp_path: Path) -> None:
    journal = ResultJournal(tmp_path / "j" / "run.jsonl")
    journal.record(ItemResultRow(item_key="a", output="x", passed=True, score=1.0, cost_usd=0.5))
    journal.record(ItemResultRow(item_key="b", error="timeout", error_kind="timeout"))
    journal.close()
    with journal.path.open("a", encoding="utf-8") as fh:
        fh.write('{"item_key": "c", "outp')  # the process died mid-write

    rows = journal.rows()

    assert [r["item_key"] for r in rows] == ["a", "b"]
    assert rows[0]["passed"] is True and float(rows[0]["cost_usd"]) == 0.5
    assert rows[1]["error_kind"] == "timeout"
    journal.discard()
    assert not journal.path.exists() and journal.rows() == []


def test_path_names_the_registry_by_digest_never_by_url(tmp_path: Path) -> None:
    url = "postgresql+psycopg://relitigate:hunter2@db.internal/relitigate"

    path = journal_path(tmp_path, url, 7)

    assert path.parent == tmp_path / "journal"
    assert path.name.endswith("-run-7.jsonl")
    assert "hunter2" not in str(path)
    assert journal_path(tmp_path, url + "2", 7) != path


@pytest.fixture()
def registry(migrated_url: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    from registry.db import make_engine, session_factory
    from registry.sync import sync_workloads
    from relitigate.simulator import Profile, SimulatorServer

    evalset = tmp_path / "w.jsonl"
    evalset.write_text(
        "".join(
            json.dumps({"id": f"k{i}", "input": f"item {i}?", "target": f"t{i % 3}"}) + "\n"
            for i in range(ITEMS)
        ),
        encoding="utf-8",
    )
    profile = {"models": [{"name": "slow", "accuracy": 1.0, "latency": {"fixed_ms": 60}}]}
    with SimulatorServer(Profile.model_validate(profile), [evalset]) as sim:
        candidate = {
            "route": "openai/slow",
            "api_base": sim.base_url,
            "params": {"max_tokens": 8},
            "pricing": {"input_per_mtok": 1.0, "output_per_mtok": 2.0},
            "limits": {"concurrency": 4, "max_attempts": 2, "timeout_s": 30},
        }
        spec = {
            "version": 1,
            "workloads": [
                {
                    "name": "w",
                    "owner": {"email": "w@example.com"},
                    "case": "cost_distillation",
                    "volume_per_day": 1000,
                    "eval_set": {"path": evalset.name, "scorer": {"kind": "exact"}},
                    "fine_tune": {"name": "ft", **candidate},
                    "buy": [{"name": "buy", **candidate}],
                }
            ],
        }
        path = tmp_path / "relitigate.yaml"
        path.write_text(yaml.safe_dump(spec), encoding="utf-8")
        engine = make_engine(migrated_url)
        with session_factory(engine).begin() as session:
            sync_workloads(session, path)
        engine.dispose()
        yield {"sim": sim, "url": migrated_url, "data": tmp_path / "data"}


def _child(registry: dict[str, Any], flush_s: float) -> subprocess.Popen[str]:
    import os

    env = {**os.environ, "RELITIGATE_DATABASE_URL": registry["url"]}
    env["RELITIGATE_DATA_DIR"] = str(registry["data"])
    # the killed child's benchmark lease is taken over once it expires: keep that short
    env.update(RELITIGATE_LEASE_TTL_S="2", RELITIGATE_LEASE_HEARTBEAT_S="0.5")
    return subprocess.Popen(
        [sys.executable, "-m", "tests.tasks.journal_child", "w", "ft", "2026Q4", str(flush_s)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip


def _stored_results(url: str) -> int:
    from registry.db import make_engine, session_factory
    from registry.models import ItemResult

    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            return int(session.scalar(select(func.count()).select_from(ItemResult)) or 0)
    finally:
        engine.dispose()


def test_sigkill_between_checkpoints_loses_nothing_received(registry: dict[str, Any]) -> None:
    sim = registry["sim"]
    first = _child(registry, flush_s=3600)  # no checkpoint would reach the registry in time
    deadline = time.monotonic() + 120
    while sim.model_stats("slow")["items_answered"] < 16:
        assert first.poll() is None, "the child finished before it could be killed"
        assert time.monotonic() < deadline, "the child made no progress"
        time.sleep(0.02)
    sim.pause()  # no reply is in flight when the kill lands...
    time.sleep(0.5)  # ...and the child has read every reply it was sent
    first.kill()
    assert first.wait() == -9
    sim.resume()
    answered = sim.model_stats("slow")["items_answered"]
    assert 16 <= answered < ITEMS
    assert _stored_results(registry["url"]) == 0  # the batched checkpoint never ran
    journals = list((registry["data"] / "journal").glob("*-run-*.jsonl"))
    assert len(journals) == 1
    assert len(ResultJournal(journals[0]).rows()) == answered

    second = _child(registry, flush_s=0.25)
    out, _ = second.communicate(timeout=180)

    assert second.returncode == 0
    outcome = json.loads(out.strip().splitlines()[-1])
    assert outcome["status"] == "complete"
    assert (outcome["items_skipped"], outcome["items_called"]) == (answered, ITEMS - answered)
    stats = sim.model_stats("slow")
    assert stats["items_answered"] == ITEMS
    assert stats["duplicate_completions"] == 0  # nothing received was paid for twice
    assert _stored_results(registry["url"]) == ITEMS
    assert not journals[0].exists()  # the registry holds it all now
