"""Fixtures for the GPU runner tests: a tiny offline model, eval items, a collecting sink."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from tasks.evaluation.scorers import build_scorer
from tasks.evaluation.types import EvalItem, ItemResult, Scorer

LABELS = {
    "printer": "hardware",
    "login": "account",
    "invoice": "billing",
    "screen": "hardware",
    "password": "account",
    "refund": "billing",
}


def require(*modules: str) -> None:
    """Skip when an optional module is missing; in CI (RELITIGATE_TEST_REQUIRE_POSTGRES=1) fail."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if not missing:
        return
    message = f"missing {', '.join(missing)}: pip install -r requirements-gpu.txt"
    if os.environ.get("RELITIGATE_TEST_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"CI must run the GPU runner tests: {message}")
    pytest.skip(message)


def ticket_items(n: int = 24) -> list[EvalItem]:
    """``n`` support tickets to classify; the tiny model is taught all of them."""
    words = list(LABELS)
    return [
        EvalItem(
            key=f"t{i:03d}",
            input=f"ticket {i}: the {words[i % len(words)]} is broken",
            target=LABELS[words[i % len(words)]],
        )
        for i in range(n)
    ]


def exact_scorer() -> Scorer:
    """The engine's exact-match scorer."""
    return build_scorer({"kind": "exact"})


class CollectingSink:
    """Keeps every result it is handed (the engine's ResultSink protocol)."""

    def __init__(self) -> None:
        self.results: list[ItemResult] = []
        self.batches = 0

    async def write(self, results: Sequence[ItemResult]) -> None:
        self.batches += 1
        self.results.extend(results)


@pytest.fixture(scope="session")
def gpu_stack() -> None:
    """torch and transformers are importable; torch uses one CPU thread."""
    require("torch", "transformers")
    import torch

    # Two OpenMP threads on a busy 2-core CI machine ran ten times slower than one.
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_model_dir(gpu_stack: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tasks.gpu.tiny import build_tiny_model

    items = ticket_items()
    folder = tmp_path_factory.mktemp("tiny") / "model"
    return build_tiny_model(folder, texts=[], teach=[(str(i.input), i.target) for i in items])


@pytest.fixture(scope="session")
def tiny_adapter_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    require("peft")
    from tasks.gpu.tiny import build_tiny_adapter

    return build_tiny_adapter(tiny_model_dir, tmp_path_factory.mktemp("tiny") / "adapter")


@pytest.fixture
def sink() -> Iterator[CollectingSink]:
    yield CollectingSink()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
