"""A provider that echoes the API key in its 401, 403 and 500 bodies: the key reaches no text.

``relitigate bench`` (a 401) and ``relitigate run`` (a 401, a 403, and 500s on every item of
a workload that is then decided) run as child processes against a loopback endpoint that
answers ``echo-401``, ``echo-403`` and ``echo-500`` with the caller's ``Authorization``
header and key in the error body. The key is a canary built at run time (never a committed
string) and shaped like no known key, so only its registration where it is read can scrub
it. Afterwards it appears in no output, no row of any table of the registry (SQLite and
PostgreSQL), no file under the data folder (memos, charts, journals) and no byte of the
run's Prefect database; and the socket guard saw no connection outside loopback. The
journal and the database password get a direct check each.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest
import yaml

from tasks.redaction import REDACTED
from tests.reliability.guard.support import (
    EchoProvider,
    child_env,
    guard_attempts,
    relitigate,
)

KEY_ENV = "RELITIGATE_TEST_ECHO_KEY"
ITEMS = 12


def _candidate(name: str, model: str, api_base: str) -> dict[str, Any]:
    return {
        "name": name,
        "route": f"openai/{model}",
        "api_base": api_base,
        "api_key_env": KEY_ENV,
        "params": {"max_tokens": 4},
        "pricing": {"input_per_mtok": 0.5, "output_per_mtok": 1.5},
        "limits": {"concurrency": 4, "max_attempts": 1, "timeout_s": 10},
    }


def _workloads(api_base: str, evalset: Path) -> dict[str, Any]:
    def workload(name: str, fine_tune: str, buy: str) -> dict[str, Any]:
        return {
            "name": name,
            "owner": {"email": f"{name}@example.com"},
            "case": "cost_distillation",
            "volume_per_day": 20_000_000,
            "fixed_costs_monthly_usd": 1000,
            "adopted": "2025Q4",
            "eval_set": {"path": str(evalset), "name": name, "scorer": {"kind": "exact"}},
            "fine_tune": _candidate("ft", fine_tune, api_base),
            "buy": [_candidate("frontier", buy, api_base)],
        }

    return {
        "version": 1,
        "workloads": [
            workload("echo-errors", "echo-500", "echo-ok"),  # every item errors; decided
            workload("echo-denied", "echo-401", "echo-ok"),  # stops at the probe call
            workload("echo-forbidden", "echo-403", "echo-ok"),
        ],
    }


def _sync(url: str, workloads: Path) -> None:
    from registry.db import make_engine, session_factory
    from registry.sync import sync_workloads

    engine = make_engine(url)
    try:
        with session_factory(engine).begin() as session:
            sync_workloads(session, workloads)
    finally:
        engine.dispose()


def _all_rows(url: str) -> str:
    """Every row of every table in the database (whatever the models declare), as text."""
    from sqlalchemy import MetaData

    from registry.db import make_engine

    engine = make_engine(url)
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        with engine.connect() as conn:
            return "\n".join(
                f"{table.name}: {tuple(row)!r}"
                for table in metadata.sorted_tables
                for row in conn.execute(table.select())
            )
    finally:
        engine.dispose()


def _files_holding(folder: Path, needle: bytes) -> list[str]:
    return [str(p) for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes()]


# One registry: the scrubbing happens before anything is written (tasks/redaction.py), so the
# database cannot change what reaches it; two full runs of the CLI per dialect cost a minute.
# PostgreSQL, the database CI requires.
@pytest.mark.slow
@pytest.mark.parametrize("dialect", ["postgresql"])
def test_a_key_echoed_in_401_403_and_500_bodies_appears_nowhere(
    migrated_url: str, tmp_path: Path
) -> None:
    canary = "cnry" + secrets.token_hex(20)  # no known key shape: only registration finds it
    evalset = tmp_path / "items.jsonl"
    evalset.write_text(
        "".join(
            json.dumps({"id": f"i{i:03d}", "input": f"item {i}", "target": "q0"}) + "\n"
            for i in range(ITEMS)
        ),
        encoding="utf-8",
    )
    guard_log = tmp_path / "guard.log"
    env = child_env(tmp_path, database_url=migrated_url, guard_log=guard_log, **{KEY_ENV: canary})

    with EchoProvider() as provider:
        workloads = tmp_path / "relitigate.yaml"
        workloads.write_text(yaml.safe_dump(_workloads(provider.base_url, evalset)), "utf-8")
        _sync(migrated_url, workloads)
        done = [
            relitigate("bench", "echo-denied", "--quarter", "2026Q1", env=env),
            relitigate("run", "--quarter", "2026Q2", env=env),
        ]

    outputs = "\n".join(f"$ {p.args}\n{p.stdout}\n{p.stderr}" for p in done)
    # the key really went out, and really came back in every kind of error body
    for model in ("echo-401", "echo-403", "echo-500"):
        assert provider.requests_with(model, canary) > 0, (model, outputs)
    assert done[0].returncode != 0 and done[1].returncode != 0, outputs
    assert "HTTP 401" in done[0].stderr and "HTTP 403" in done[1].stderr, outputs

    assert canary not in outputs
    rows = _all_rows(migrated_url)
    assert "HTTP 401" in rows and "HTTP 500" in rows and REDACTED in rows  # errors stored
    assert canary not in rows
    data = tmp_path / "data"
    assert list(data.rglob("memo.md")), "the decided workload wrote no memo"
    assert _files_holding(data, canary.encode()) == []
    prefect_home = tmp_path / "prefect-home"
    assert list(prefect_home.glob("*.db")), "the run left no Prefect database"
    assert _files_holding(prefect_home, REDACTED.encode()), "no scrubbed error reached Prefect"
    assert _files_holding(prefect_home, canary.encode()) == []
    assert guard_attempts(guard_log) == []


def test_the_journal_scrubs_each_result_before_it_reaches_the_disk(tmp_path: Path) -> None:
    from registry.runs import ItemResultRow
    from tasks.journal import ResultJournal
    from tasks.redaction import forget_secrets, register_secret

    canary = "cnry" + secrets.token_hex(20)
    register_secret(canary)
    row = ItemResultRow(item_key="i000", error=f"HTTP 401: Incorrect API key: {canary}")
    journal = ResultJournal(tmp_path / "run.jsonl")
    try:
        journal.record(row)
    finally:
        journal.close()
        forget_secrets()

    text = journal.path.read_text(encoding="utf-8")
    assert canary not in text and REDACTED in text
    assert journal.rows()[0]["item_key"] == "i000"


def test_the_database_password_is_registered_when_the_settings_are_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from relitigate.settings import load_settings
    from tasks.redaction import forget_secrets, scrub

    password = "pw" + secrets.token_hex(6)  # short: scrubbed as a whole word only
    url = f"postgresql+psycopg://relitigate:{password}@127.0.0.1:1/registry"
    monkeypatch.setenv("RELITIGATE_DATABASE_URL", url)
    try:
        load_settings()
        message = scrub(f"connection to {url} failed; password {password} rejected")
    finally:
        forget_secrets()

    assert password not in message and message.count(REDACTED) == 2
