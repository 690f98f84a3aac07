"""Fixtures: the provider simulator on loopback, eval items it knows, a list-backed sink."""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")

from collections.abc import Iterator, Sequence
from decimal import Decimal

import pytest

from relitigate.simulator import ModelProfile, Profile, SimulatorServer
from relitigate.simulator.evalsets import ItemIndex, SimItem
from tasks.evaluation.types import (
    CandidateSpec,
    EvalItem,
    ItemResult,
    Limits,
    Pricing,
)

LABELS = ("billing", "it", "facilities", "hr")
PRICE_IN = Decimal("0.0000025")
PRICE_OUT = Decimal("0.00001")


def make_items(n: int, prefix: str = "q") -> list[EvalItem]:
    """Eval items the simulator will recognise: text inputs, label targets."""
    return [
        EvalItem(
            key=f"{prefix}{i}",
            input=f"{prefix} ticket {i}: route this request",
            target=LABELS[i % len(LABELS)],
        )
        for i in range(n)
    ]


ITEMS = make_items(200)
JUDGE_ITEMS = make_items(20, prefix="j")

PROFILE = Profile(
    seed=3,
    models=[
        ModelProfile(
            name="perfect", version="perfect-2026-01", accuracy=1.0, latency={"fixed_ms": 5}
        ),
        ModelProfile(name="seventy", accuracy=0.7, latency={"median_ms": 5, "p95_ms": 15}),
        ModelProfile(name="flaky", accuracy=1.0, latency={"fixed_ms": 5}, error_rate=0.3, rpm=1200),
        ModelProfile(
            name="slowpoke",
            accuracy=1.0,
            latency={"fixed_ms": 5},
            timeout_rate=0.25,
            timeout_hold_s=20,
        ),
        ModelProfile(name="gpt-4o-mini", accuracy=1.0, latency={"fixed_ms": 5}),
        ModelProfile(
            name="judge",
            version="judge-v7",
            role="judge",
            accuracy=1.0,
            latency={"fixed_ms": 2},
            completion_tokens=12,
        ),
    ],
)


class ListSink:
    """A ResultSink that keeps every batch."""

    def __init__(self) -> None:
        self.rows: list[ItemResult] = []
        self.batches = 0
        self.sizes: list[int] = []

    async def write(self, results: Sequence[ItemResult]) -> None:
        self.rows.extend(results)
        self.batches += 1
        self.sizes.append(len(results))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def sim() -> Iterator[SimulatorServer]:
    index = ItemIndex((str(i.input), SimItem(i.key, i.target)) for i in ITEMS + JUDGE_ITEMS)
    with SimulatorServer(PROFILE, index) as server:
        yield server


@pytest.fixture
def fresh_sim(sim: SimulatorServer) -> SimulatorServer:
    sim.reset_stats()
    return sim


def spec_for(sim: SimulatorServer, model: str, **kw: object) -> CandidateSpec:
    """A candidate on the simulator, priced per token unless told otherwise."""
    args: dict[str, object] = {
        "name": model,
        "route": f"openai/{model}",
        "api_base": sim.base_url,
        "pricing": Pricing(input_usd_per_token=PRICE_IN, output_usd_per_token=PRICE_OUT),
        "limits": Limits(concurrency=16, timeout_s=5),
    }
    args.update(kw)
    return CandidateSpec(**args)  # type: ignore[arg-type]
