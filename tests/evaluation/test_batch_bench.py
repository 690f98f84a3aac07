"""``limits.batch`` end to end: ``relitigate bench`` in a real process, SIGKILLed while its
batch is at the provider, and the benchmark run again (in this process, on the same
registry): the re-run polls the batch id the registry holds and pays for every item once, at
the cost map's batch prices. Each wave of a sequential benchmark is one batch. ``sync``
refuses ``limits.batch`` on a route without a batch API or a batch price (exit 2, the field
named) and leaves the registry empty."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from relitigate.simulator import Profile, SimulatorServer
from tests.conftest import make_database
from tests.reliability.overlap_support import ROOT, run_env, sync, wait_until

pytestmark = pytest.mark.slow
N = 30
QUARTER = "2026Q1"


def _evalset(path: Path, n: int = N) -> Path:
    rows = [{"id": f"t-{i:03d}", "input": f"ticket {i}: which queue?", "target": f"q{i % 3}"}
            for i in range(n)]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _workloads(folder: Path, evalset: Path, api_base: str, *, buy_route: str) -> Path:
    ft = {"name": "ft", "route": "openai/ft-good", "api_base": api_base,
          "pricing": {"input_per_mtok": 0.05, "output_per_mtok": 0.15}}  # fmt: skip
    buy = {"name": "frontier", "route": buy_route, "api_base": api_base, "api_key_env": "SIM_KEY",
           "params": {"max_tokens": 8}, "limits": {"batch": True, "timeout_s": 10}}  # fmt: skip
    data = {"version": 1, "workloads": [{
        "name": "triage", "owner": {"email": "triage@example.com"}, "case": "cost_distillation",
        "volume_per_day": 20_000_000, "fixed_costs_monthly_usd": 1000, "adopted": "2025Q4",
        "eval_set": {"path": str(evalset), "scorer": {"kind": "exact"}},
        "fine_tune": ft, "buy": [buy],
    }]}  # fmt: skip
    path = folder / "relitigate.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def registry(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with make_database("sqlite", tmp_path, tmp_path_factory, migrated=True) as url:
        yield url


def _batches(url: str) -> list[dict[str, Any]]:
    from registry.batch_models import FrontierBatch
    from registry.db import make_engine, session_factory

    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            return [
                {"batch_id": b.batch_id, "status": b.status.value, "items": len(b.item_keys)}
                for b in session.scalars(select(FrontierBatch))
            ]
    finally:
        engine.dispose()


def _results(url: str) -> list[tuple[int, int, Decimal, bool]]:
    from registry.db import make_engine, session_factory
    from registry.models import ItemResult, Run

    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            rows = session.execute(
                select(ItemResult).join(Run, ItemResult.run_id == Run.id)
                .where(Run.candidate.has(name="frontier"))
            ).scalars()  # fmt: skip
            return [(r.prompt_tokens, r.completion_tokens, Decimal(str(r.cost_usd)),
                     r.error is None) for r in rows]  # fmt: skip
    finally:
        engine.dispose()


def _bench(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "relitigate", "bench", "triage", "--candidate", "frontier",
            "--quarter", QUARTER, "--json"]  # fmt: skip
    with log.open("wb") as out:
        return subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip


def test_a_batch_survives_sigkill_and_is_paid_once_at_batch_prices(
    registry: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import litellm

    from tasks.benchmark import run_benchmark
    from tasks.context import opened

    profile = Profile.model_validate({"api_key": "sk-sim", "batch_delay_s": 0.2, "models": [
        {"name": "ft-good", "accuracy": 0.9},
        {"name": "gpt-4o-mini", "accuracy": 0.8, "prompt_tokens": 40, "completion_tokens": 3},
    ]})  # fmt: skip
    evalset = _evalset(tmp_path / "triage.jsonl")
    with SimulatorServer(profile, [evalset]) as sim:
        sync(registry, _workloads(tmp_path, evalset, sim.base_url, buy_route="openai/gpt-4o-mini"))
        env = run_env(registry, tmp_path / "prefect", tmp_path / "data", SIM_KEY="sk-sim",
                      OPENAI_API_KEY="sk-sim")  # fmt: skip
        sim.pause()  # the batch stays in progress until the kill
        first = _bench(env, tmp_path / "first.log")
        try:
            wait_until(lambda: any(b["batch_id"] for b in _batches(registry)), "a batch id", 90)
            time.sleep(1.0)  # a few polls of an unfinished batch
        finally:
            first.kill()
            first.wait()
        assert first.returncode == -9, (tmp_path / "first.log").read_text()
        (held,) = _batches(registry)
        assert held["status"] == "submitted" and held["items"] == N
        assert sim.stats()["batches"]["created"] == 1
        assert sim.model_stats("gpt-4o-mini")["requests"] == 0

        sim.resume()
        for name, value in env.items():  # the re-run: this process, the same registry
            monkeypatch.setenv(name, value)
        with opened() as ctx:
            rerun = asyncio.run(run_benchmark(ctx, "triage", "frontier", QUARTER, retry_level=0))
        stats, created = sim.model_stats("gpt-4o-mini"), sim.stats()["batches"]["created"]

    (after,) = _batches(registry)
    assert after == {**held, "status": "collected"}  # the same batch, polled
    assert created == 1
    assert stats["requests"] == stats["items_answered"] == N
    assert stats["duplicate_completions"] == 0

    entry = litellm.model_cost["gpt-4o-mini"]
    in_b = Decimal(str(entry["input_cost_per_token_batches"]))
    out_b = Decimal(str(entry["output_cost_per_token_batches"]))
    assert in_b < Decimal(str(entry["input_cost_per_token"]))
    results = _results(registry)
    assert len(results) == N and all(ok for *_, ok in results)
    assert all(cost == p * in_b + c * out_b for p, c, cost, _ in results)
    assert (rerun.status, rerun.items_called, rerun.items_skipped) == ("complete", N, 0)
    assert Decimal(str(rerun.cost_usd)) == pytest.approx(sum(cost for _, _, cost, _ in results))


def test_each_wave_of_a_sequential_run_is_one_batch(
    registry: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tasks.benchmark import run_benchmark
    from tasks.context import opened
    from tasks.waves import setup_waves

    profile = Profile.model_validate({"batch_delay_s": 0.1, "models": [
        {"name": "ft-good", "accuracy": 0.9}, {"name": "gpt-4o-mini", "accuracy": 0.9},
    ]})  # fmt: skip
    evalset = _evalset(tmp_path / "triage.jsonl", 300)
    with SimulatorServer(profile, [evalset]) as sim:
        sync(registry, _workloads(tmp_path, evalset, sim.base_url, buy_route="openai/gpt-4o-mini"))
        for name, value in run_env(registry, tmp_path / "prefect", tmp_path / "data",
                                   SIM_KEY="sk-sim").items():  # fmt: skip
            monkeypatch.setenv(name, value)
        with opened() as ctx:
            setup = setup_waves(ctx, "triage", QUARTER, None)
            assert setup is not None and setup.sizes == (200, 300)
            for wave in (1, 2):
                asyncio.run(run_benchmark(ctx, "triage", "frontier", QUARTER, wave=wave,
                                          retry_level=0))  # fmt: skip
        stats, created = sim.model_stats("gpt-4o-mini"), sim.stats()["batches"]["created"]

    batches = _batches(registry)
    assert [(b["items"], b["status"]) for b in batches] == [(200, "collected"), (100, "collected")]
    assert created == 2
    assert stats["requests"] == stats["items_answered"] == 300
    assert stats["duplicate_completions"] == 0


@pytest.mark.parametrize(
    ("route", "says"),
    [
        ("anthropic/claude-x", "provider 'anthropic') has no batch API"),
        ("openai/ft-custom", "has no batch price"),  # not in the cost map, no pricing
    ],
)
def test_sync_refuses_batch_without_a_batch_api_or_a_batch_price(
    route: str, says: str, registry: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    from relitigate.cli.app import main
    from tests.conftest import dump_database

    evalset = _evalset(tmp_path / "triage.jsonl")
    path = _workloads(tmp_path, evalset, "http://127.0.0.1:9", buy_route=route)
    before = dump_database(registry)
    monkeypatch.setenv("RELITIGATE_DATABASE_URL", registry)
    monkeypatch.setattr(sys, "argv", ["relitigate", "sync", str(path)])
    with pytest.raises(SystemExit) as exited:
        main()
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert "buy[0].limits.batch" in err and says in err and str(path) in err
    assert len(err.strip().splitlines()) == 1
    assert dump_database(registry) == before
