"""Throughput of the in-process GPU runner at two batch sizes, on a small model built offline.

Run from the repository root (needs the GPU extra: ``pip install -r requirements-gpu.txt``)::

    .venv/bin/python bench/bench_gpu.py                        # the table in BENCHMARKS.md
    .venv/bin/python bench/bench_gpu.py --batch-sizes 1 32 --items 256 --hidden 512

A random-weight Llama (``--hidden``, ``--layers``) and a word-level tokenizer are built in a
temporary folder (nothing is downloaded), loaded once, and the eval set is run through
:func:`tasks.gpu.inprocess.run_inprocess_candidate` at each batch size (greedy decoding,
``--new-tokens`` tokens at most per item, exact-match scoring, a sink that keeps nothing).
Throughput is generation time only (loading excluded): the median of ``--runs`` runs after
one warm-up run. Cost per call is ``--gpu-usd-per-hour`` x 1 GPU / 3600 / items per second.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from tasks.evaluation.scorers import build_scorer
from tasks.evaluation.types import CandidateSpec, EvalItem, ItemResult, Pricing
from tasks.gpu.config import ServingConfig
from tasks.gpu.inprocess import run_inprocess_candidate
from tasks.gpu.loading import LoadedModel, load_model
from tasks.gpu.throughput import ThroughputReport, measure_throughput

WORDS = [
    "the",
    "printer",
    "login",
    "invoice",
    "screen",
    "password",
    "refund",
    "order",
    "shipping",
    "account",
    "billing",
    "hardware",
    "is",
    "broken",
    "late",
    "missing",
    "wrong",
    "charged",
    "twice",
    "cannot",
    "open",
    "reset",
    "please",
    "help",
    "my",
]


class NullSink:
    """Drops results (the benchmark measures generation, not the registry)."""

    async def write(self, results: Sequence[ItemResult]) -> None:
        return None


def _items(n: int) -> list[EvalItem]:
    return [
        EvalItem(
            key=f"b{i:05d}",
            input=" ".join(WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(8 + i % 9)),
            target="hardware",
        )
        for i in range(n)
    ]


async def _measure(
    loaded: LoadedModel, config: ServingConfig, spec: CandidateSpec, items: list[EvalItem],
    runs: int,
) -> ThroughputReport:  # fmt: skip
    scorer = build_scorer({"kind": "exact"})
    reports = []
    for _ in range(runs + 1):  # the first run warms up
        run = await run_inprocess_candidate(
            spec, config, items, scorer=scorer, sink=NullSink(), loaded=loaded
        )
        reports.append(run.throughput)
    timed = reports[1:]
    wall = statistics.median(r.wall_s for r in timed)
    tokens = round(statistics.median(r.output_tokens for r in timed))
    return measure_throughput(
        hardware=loaded.hardware, device=loaded.device, batch_size=config.batch_size,
        items=len(items), output_tokens=tokens, wall_s=wall,
        gpu_usd_per_hour=spec.pricing.gpu_usd_per_hour if spec.pricing else None,
    )  # fmt: skip


def main() -> None:
    """Parse the arguments, build the model, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--items", type=int, default=64)
    parser.add_argument("--new-tokens", type=int, default=16)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--device", choices=["auto", "cuda", "cpu"], default="auto")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--gpu-usd-per-hour", default="2.50")
    args = parser.parse_args()

    import torch

    from tasks.gpu.tiny import build_tiny_model

    if args.threads:
        torch.set_num_threads(args.threads)
    items = _items(args.items)
    with tempfile.TemporaryDirectory() as tmp:
        folder = build_tiny_model(
            Path(tmp) / "model", texts=[*WORDS, "hardware"], hidden_size=args.hidden,
            layers=args.layers,
        )  # fmt: skip
        base = ServingConfig(model=str(folder), device=args.device)
        loaded = load_model(base, candidate="bench")
        params = sum(p.numel() for p in loaded.model.parameters())
        spec = CandidateSpec(
            name="bench", route="hosted_vllm/bench",
            params={"max_tokens": args.new_tokens, "temperature": 0},
            pricing=Pricing(gpu_usd_per_hour=Decimal(args.gpu_usd_per_hour), gpus=1),
        )  # fmt: skip
        print(
            f"device: {loaded.hardware} ({loaded.device}, {loaded.dtype}, "
            f"torch threads {torch.get_num_threads()}); model: Llama {args.layers} layers x "
            f"{args.hidden}, {params / 1e6:.1f} M parameters; {args.items} items, "
            f"<= {args.new_tokens} new tokens each; median of {args.runs} runs"
        )
        print(f"{'batch':>5} {'items/s':>9} {'out tok/s':>10} {'s/run':>7} {'$/call':>12}")
        for size in args.batch_sizes:
            config = base.model_copy(update={"batch_size": size})
            r = asyncio.run(_measure(loaded, config, spec, items, args.runs))
            print(
                f"{size:>5} {r.items_per_s:>9.1f} {r.output_tokens_per_s:>10.0f} "
                f"{r.wall_s:>7.2f} {r.cost_per_call_usd:>12.8f}"
            )


if __name__ == "__main__":
    main()
