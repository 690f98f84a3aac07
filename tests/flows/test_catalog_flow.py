"""The buy catalog end to end: catalog buys benchmarked against the simulator, and a new
entry re-deciding each workload it challenges exactly once (``relitigate run --triggered``).

Embedded path (Prefect's test harness). The Prefect-server path end to end (``relitigate
sync`` emitting the events, the ``triggered`` deployment's automation starting one run per
matching workload, a process worker running it) is ``tests/flows/test_server_e2e.py``; the
event's shape is ``tests/tasks/test_triggers.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.flows.quarter_support import (
    ITEMS,
    PROFILE,
    candidate,
    cli,
    completions,
    run_quarter,
    workloads_data,
    write_evalset,
)


def _entry(name: str, model: str, api_base: str, price: float, tags: list[str]) -> dict[str, Any]:
    spec = candidate(name, model, api_base, price=price)
    return {**spec, "tags": tags}


def _file(api_base: str, *, with_cheap: bool) -> dict[str, Any]:
    data = workloads_data(api_base)
    holds, erodes = data["workloads"]
    holds["catalog"] = {"providers": ["openai"], "max_usd_per_call": 0.00001}
    erodes["catalog"] = {"tags": ["cheap"], "names": ["pricey"]}
    data["catalog"] = [
        _entry("pricey", "frontier-good", api_base, 50.0, ["frontier"]),
        {**_entry("elsewhere", "frontier-good", api_base, 0.01, ["frontier"]), "provider": "acme"},
    ]
    if with_cheap:
        data["catalog"].append(_entry("cheap", "frontier-cheap", api_base, 0.1, ["cheap"]))
    return data


@pytest.fixture
def dialect() -> str:
    """SQLite only: the causes' claims are tested on both databases in tests/registry."""
    return "sqlite"


@pytest.fixture()
def catalog_scenario(
    harness: None,
    migrated_url: str,
    session_factory: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[dict[str, Any]]:
    from registry.sync import sync_workloads
    from relitigate.simulator import Profile, SimulatorServer

    evalsets = [tmp_path / "holds.jsonl", tmp_path / "erodes.jsonl"]
    for path in evalsets:
        write_evalset(path)
    for name in ("RELITIGATE_SLACK_TOKEN", "RELITIGATE_SLACK_PLATFORM_CHANNEL",
                 "RELITIGATE_GPU_DEPLOYMENT", "PREFECT_API_URL"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RELITIGATE_DATABASE_URL", migrated_url)
    monkeypatch.setenv("RELITIGATE_DATA_DIR", str(tmp_path / "data"))
    cheap = {"name": "frontier-cheap", "accuracy": 0.92, "latency": {"fixed_ms": 2}}
    profile = {**PROFILE, "models": [*list(PROFILE["models"]), cheap]}  # type: ignore[call-overload]
    with SimulatorServer(Profile.model_validate(profile), evalsets) as sim:
        path = tmp_path / "relitigate.yaml"

        def sync(*, with_cheap: bool) -> Any:
            path.write_text(yaml.safe_dump(_file(sim.base_url, with_cheap=with_cheap)), "utf-8")
            with session_factory.begin() as session:
                return sync_workloads(session, path)

        yield {"sim": sim, "sync": sync}


@pytest.mark.slow
def test_a_new_catalog_entry_re_decides_each_matching_workload_once(
    catalog_scenario: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sim, sync = catalog_scenario["sim"], catalog_scenario["sync"]
    sync(with_cheap=False)
    first = {r.workload: r for r in run_quarter("2026Q2")}
    # holds: no catalog entry is openai and cheap enough; erodes: pricey, by name
    assert first["holds"].verdict == "keep" and first["erodes"].verdict == "retire"
    assert completions(sim)["frontier-good"] == 3 * ITEMS  # two declared buys and pricey

    report = sync(with_cheap=True)
    assert report.catalog_added == ("cheap",)
    assert sorted((c.workload, c.cause) for c in report.causes) == [
        ("erodes", "catalog:cheap"), ("holds", "catalog:cheap"),
    ]  # fmt: skip
    before = completions(sim)

    capsys.readouterr()
    assert cli(monkeypatch, "run", "--triggered", "--quarter", "2026Q2", "--json") == 0
    printed = json.loads(capsys.readouterr().out)
    decided = {d["workload"]: d for d in printed["decisions"]}
    assert sorted(decided) == ["erodes", "holds"]
    assert all(not d["reused"] and d["revision"] == 2 for d in decided.values())
    after = completions(sim)
    # only the new buy was benchmarked, once per workload; nothing else was paid again
    assert after["frontier-cheap"] == 2 * ITEMS
    assert after | {"frontier-cheap": 0} == before

    # each cause is taken once: a second triggered run decides nothing and pays nothing
    assert cli(monkeypatch, "run", "--triggered", "--quarter", "2026Q2", "--json") == 0
    assert json.loads(capsys.readouterr().out)["decisions"] == []
    assert completions(sim) == after

    # the catalog as stored, and a challenger tried again by name: re-decided, nothing repaid
    assert cli(monkeypatch, "catalog", "--json") == 0
    listed = {e["name"]: e for e in json.loads(capsys.readouterr().out)}
    assert listed["cheap"]["challenges"] == ["holds", "erodes"]
    assert listed["elsewhere"]["challenges"] == []
    assert cli(monkeypatch, "run", "--challenger", "cheap", "--quarter", "2026Q2", "--json") == 0
    again = {d["workload"]: d["revision"] for d in json.loads(capsys.readouterr().out)["decisions"]}
    assert again == {"holds": 3, "erodes": 3}
    assert completions(sim) == after
    assert cli(monkeypatch, "run", "--challenger", "nope", "--quarter", "2026Q2") == 2
    assert "no catalog entry named 'nope'" in capsys.readouterr().err


@pytest.mark.slow
def test_trigger_causes_reach_the_prefect_server_as_events(harness: None) -> None:
    import asyncio
    import time

    from prefect import get_client
    from prefect.events.filters import EventFilter, EventNameFilter

    from registry.catalog_triggers import CauseRecord
    from tasks.triggers import emit_cause_events

    cause = CauseRecord("holds", "catalog:cheap", "catalog", "catalog entry cheap challenges it")
    # no deployment would run the event: the cause stays for `run --triggered`
    assert emit_cause_events((cause,)) == []
    from flows.quarter import relitigate_quarter

    deployment = relitigate_quarter.to_deployment(name="triggered")
    deployment.apply()  # type: ignore[union-attr]
    # two causes for one workload in one sync: one event (so one run), both causes in it
    second = CauseRecord("holds", "eval_set:holds@3", "eval_set", "eval set holds version 3")
    assert emit_cause_events((cause, second)) == [cause, second]

    async def read() -> list[Any]:
        wanted = EventFilter(event=EventNameFilter(prefix=["relitigate.trigger."]))
        async with get_client() as client:
            return list((await client.read_events(filter=wanted, limit=50)).events)

    deadline = time.monotonic() + 90
    while not (events := asyncio.run(read())) and time.monotonic() < deadline:
        time.sleep(0.5)
    (event,) = events
    assert event.event == "relitigate.trigger.catalog"
    assert event.resource.id == "relitigate.workload.holds"
    assert event.payload["cause"] == "catalog:cheap"
    assert [c["cause"] for c in event.payload["causes"]] == ["catalog:cheap", "eval_set:holds@3"]
