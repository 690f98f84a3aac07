"""The quarter flow test's scenario data and probes: the eval sets and workloads the simulator
answers, and what the registry, the simulator and Prefect hold after a run."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

ITEMS = 220


def write_evalset(path: Path) -> None:
    tag = path.stem
    lines = [
        json.dumps(
            {"id": f"{tag}-{i:04d}", "input": f"{tag} {i}: which queue?", "target": f"q{i % 5}"}
        )
        for i in range(ITEMS)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def candidate(name: str, model: str, api_base: str, price: float = 0.5) -> dict[str, Any]:
    return {
        "name": name,
        "route": f"openai/{model}",
        "api_base": api_base,
        "params": {"max_tokens": 8},
        "pricing": {"input_per_mtok": price, "output_per_mtok": 3 * price},
        "limits": {"concurrency": 16, "max_attempts": 3, "timeout_s": 10},
    }


def workloads_data(api_base: str, *, buy_model: str = "frontier-good") -> dict[str, Any]:
    def workload(name: str, ft: str) -> dict[str, Any]:
        return {
            "name": name,
            "owner": {"email": f"{name}@example.com", "slack_channel": f"#{name}"},
            "case": "cost_distillation",
            "volume_per_day": 20_000_000,
            "fixed_costs_monthly_usd": 1000,
            "adopted": "2025Q4",
            "eval_set": {"path": f"{name}.jsonl", "scorer": {"kind": "exact"}},
            "fine_tune": candidate("ft", ft, api_base, price=0.05),
            "buy": [candidate("frontier", buy_model, api_base)],
        }

    return {
        "version": 1,
        "workloads": [workload("holds", "ft-strong"), workload("erodes", "ft-weak")],
    }


PROFILE = {
    "seed": 3,
    "models": [
        {"name": "ft-strong", "accuracy": 0.97, "latency": {"fixed_ms": 2}},
        {"name": "ft-weak", "accuracy": 0.70, "latency": {"fixed_ms": 2}},
        {"name": "frontier-good", "accuracy": 0.92, "latency": {"fixed_ms": 2}},
    ],
}


def run_quarter(quarter: str, *, deliver: bool = False, **kwargs: Any) -> list[Any]:
    """The quarter flow's decisions (``DecisionSummary``), in workload order."""
    from flows.parameters import QuarterRequest
    from flows.quarter import relitigate_quarter

    request = QuarterRequest(quarter=quarter, deliver=deliver, **kwargs)
    return list(asyncio.run(relitigate_quarter(request)).decisions)


def notices_of(url: str) -> list[tuple[str | None, str, str, str]]:
    """``(workload name, quarter, kind, status)`` of every notice, oldest first."""
    from registry.db import make_engine, session_factory
    from registry.notices import list_notices

    engine = make_engine(url)
    try:
        with session_factory(engine).begin() as session:
            return [(n.workload, n.quarter, n.kind, n.state) for n in list_notices(session)]
    finally:
        engine.dispose()


def counts_of(url: str) -> dict[str, int]:
    from registry.db import make_engine, session_factory
    from registry.models import Decision, ItemResult, Notice, Run

    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            return {
                model.__tablename__: int(
                    session.scalar(select(func.count()).select_from(model)) or 0
                )
                for model in (Decision, Notice, Run, ItemResult)
            }
    finally:
        engine.dispose()


def cli(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    """``relitigate ARGS`` through the console entry point, in this process; its exit code."""
    import sys

    from relitigate.cli.app import main
    from relitigate.errors import PREFECT_CONSOLE_ENV

    # main() would otherwise choose Prefect's console handler for the rest of this process
    monkeypatch.setenv(PREFECT_CONSOLE_ENV, "prefect.logging.handlers.PrefectConsoleHandler")
    monkeypatch.setattr(sys, "argv", ["relitigate", *args])
    try:
        main()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0


async def flow_run_names() -> set[str]:
    from prefect import get_client

    async with get_client() as client:
        return {run.name for run in await client.read_flow_runs(limit=200)}


def completions(sim: Any) -> dict[str, int]:
    return {name: m["completions"] for name, m in sim.stats()["models"].items()}
