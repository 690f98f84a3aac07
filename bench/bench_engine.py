"""Speed benchmark of the evaluation engine against a loopback provider simulator.

The server is relitigate's provider simulator in its own process (models answering every
request in exactly 200 ms, over OpenAI chat completions and the Anthropic Messages API).
Each measurement runs in a fresh Python process, so start-up (imports, route resolution) is
counted honestly, and compares:

- ``relitigate``: :func:`tasks.evaluation.run_candidate` (route resolved by litellm once,
  OpenAI-compatible fast path, pacing, retries, pricing, exact-match scoring, a sink);
- ``openai``: a raw ``openai.AsyncOpenAI`` loop (default client, retries off);
- ``litellm``: a naive ``litellm.acompletion`` loop;
- ``relitigate-litellm``: the engine on an Anthropic route (``anthropic/...``, the simulator's
  Anthropic Messages endpoint): litellm's Anthropic transforms without its per-call work;
- ``relitigate-acompletion``: the same route with ``transport="acompletion"`` (every call
  through ``litellm.acompletion``, the engine's path for providers not sent directly);
- ``relitigate-litellm-openai``: the OpenAI route with ``transport="litellm"``;
- ``litellm-anthropic``: a naive ``litellm.acompletion`` loop on the Anthropic route.

Throughput is steady-state: items / (last reply - first request). CPU is the client
process's CPU time over that window, per item. Memory is the client's peak RSS.

Usage::

    .venv/bin/python bench/bench_engine.py                 # the table in BENCHMARKS.md
    .venv/bin/python bench/bench_engine.py --repeats 1 --modes relitigate --concurrency 128
    .venv/bin/python bench/bench_engine.py --memory        # peak RSS at 2k and 20k items
    .venv/bin/python bench/bench_engine.py --modes relitigate-litellm relitigate-acompletion \\
        litellm-anthropic litellm relitigate             # the litellm path, with references
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")

MODEL = "bench-200ms"
CLAUDE = "claude-haiku-4-5"
"""The Anthropic modes' model: a name litellm knows, as a real candidate's would be."""
PROFILE = f"""models:
  - name: {MODEL}
    latency: {{fixed_ms: 200}}
    accuracy: 0.8
  - name: {CLAUDE}
    latency: {{fixed_ms: 200}}
    accuracy: 0.8
"""
ENGINE_MODES = {
    "relitigate": ("openai", "auto"),
    "relitigate-litellm": ("anthropic", "auto"),
    "relitigate-acompletion": ("anthropic", "acompletion"),
    "relitigate-litellm-openai": ("openai", "litellm"),
}
"""Engine modes: (wire, transport)."""


def route_and_base(wire: str, base: str) -> tuple[str, str]:
    """The candidate route and api_base for a wire (``base`` is the OpenAI ``.../v1``)."""
    if wire == "anthropic":
        return f"anthropic/{CLAUDE}", base.removesuffix("/v1")
    return f"openai/{MODEL}", base


def item_text(i: int) -> str:
    return f"Ticket {i}: the printer on floor {i % 7} is out of toner. Route it."


def target(i: int) -> str:
    return ("facilities", "it", "billing")[i % 3]


# --------------------------------------------------------------------------- child side


async def child_relitigate(
    base: str, n: int, conc: int, wire: str, transport: str
) -> dict[str, Any]:
    from decimal import Decimal

    from tasks.evaluation import CandidateSpec, EvalItem, Limits, Pricing, run_candidate
    from tasks.evaluation.scorers import build_scorer

    class CountingSink:
        rows = 0

        async def write(self, results: Any) -> None:
            self.rows += len(results)

    route, api_base = route_and_base(wire, base)
    spec = CandidateSpec(
        name="bench",
        route=route,
        api_base=api_base,
        api_key_env="BENCH_KEY",
        transport=transport,  # type: ignore[arg-type]
        params={"max_tokens": 16},
        pricing=Pricing(
            input_usd_per_token=Decimal("0.00000015"), output_usd_per_token=Decimal("0.0000006")
        ),
        limits=Limits(concurrency=conc, timeout_s=30),
    )
    items = (EvalItem(key=str(i), input=item_text(i), target=target(i)) for i in range(n))
    sink = CountingSink()
    cpu_first: list[float] = []

    def progress(update: Any) -> None:
        if not cpu_first:
            cpu_first.append(time.process_time())

    s = await run_candidate(
        spec,
        items,
        scorer=build_scorer({"kind": "exact"}),
        sink=sink,
        budget_usd=1000.0,
        progress=progress,
        env={"BENCH_KEY": "none"},
    )
    cpu = time.process_time() - cpu_first[0]
    assert sink.rows == n and s.items_errored == 0, (sink.rows, s)
    return {
        "items_per_s": s.throughput_items_per_s,
        "startup_s": s.startup_s,
        "cpu_ms_per_item": cpu / (n - 1) * 1000,
        "passed": s.items_passed,
    }


async def child_loop(kind: str, base: str, n: int, conc: int) -> dict[str, Any]:
    t_enter = time.perf_counter()
    if kind == "openai":
        import openai

        client = openai.AsyncOpenAI(base_url=base, api_key="none", max_retries=0)

        async def call(text: str) -> str:
            r = await client.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": text}], max_tokens=16
            )
            return r.choices[0].message.content or ""
    else:
        import litellm

        route, api_base = route_and_base(
            "anthropic" if kind == "litellm-anthropic" else "openai", base
        )

        async def call(text: str) -> str:
            r = await litellm.acompletion(
                model=route,
                api_base=api_base,
                api_key="none",
                max_tokens=16,
                messages=[{"role": "user", "content": text}],
            )
            return r.choices[0].message.content or ""

    texts = iter(range(n))
    first: list[float] = []
    last = [0.0]
    cpu_first: list[float] = []

    async def worker() -> None:
        for i in texts:
            if not first:
                first.append(time.perf_counter())
            await call(item_text(i))
            last[0] = time.perf_counter()
            if not cpu_first:
                cpu_first.append(time.process_time())

    await asyncio.gather(*(worker() for _ in range(conc)))
    cpu = time.process_time() - cpu_first[0]
    return {
        "items_per_s": n / (last[0] - first[0]),
        "startup_s": first[0] - t_enter,
        "cpu_ms_per_item": cpu / (n - 1) * 1000,
    }


def child(args: argparse.Namespace) -> None:
    if args.child in ENGINE_MODES:
        wire, transport = ENGINE_MODES[args.child]
        out = asyncio.run(
            child_relitigate(args.base_url, args.items, args.concurrency, wire, transport)
        )
    else:
        out = asyncio.run(child_loop(args.child, args.base_url, args.items, args.concurrency))
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


# --------------------------------------------------------------------------- parent side


def run_child(mode: str, base: str, n: int, conc: int) -> dict[str, Any]:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        mode,
        "--base-url",
        base,
        "--items",
        str(n),
        "--concurrency",
        str(conc),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"{mode} failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--base-url", help=argparse.SUPPRESS)
    p.add_argument("--items", type=int, default=1000)
    p.add_argument("--concurrency", type=int, nargs="+", default=[32, 128])
    p.add_argument("--modes", nargs="+", default=["relitigate", "openai", "litellm"])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--memory", action="store_true", help="peak RSS at 2k and 20k items")
    args = p.parse_args()
    if args.child:
        args.concurrency = args.concurrency[0]
        child(args)
        return

    from relitigate.simulator import SimulatorProcess

    with tempfile.TemporaryDirectory() as tmp:
        profile = Path(tmp, "profile.yaml")
        profile.write_text(PROFILE)
        n_max = 20_000 if args.memory else args.items
        evalset = Path(tmp, "bench.jsonl")
        with evalset.open("w") as fh:
            for i in range(n_max):
                fh.write(
                    json.dumps({"id": str(i), "input": item_text(i), "target": target(i)}) + "\n"
                )
        with SimulatorProcess(profile, [evalset]) as sim:
            print(
                f"# {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, simulator at "
                f"{sim.base_url} (200 ms fixed latency)"
            )
            if args.memory:
                for n in (2_000, 20_000):
                    r = run_child("relitigate", sim.base_url, n, 128)
                    print(
                        f"memory  items={n:6d} conc=128  peak RSS {r['peak_rss_mib']:.0f} MiB"
                        f"  ({r['items_per_s']:.0f} items/s)",
                        flush=True,
                    )
                return
            print(
                "| mode | concurrency | items/s (median of "
                f"{args.repeats}) | runs | CPU ms/item | start-up s |"
            )
            print("|---|---|---|---|---|---|")
            for conc in args.concurrency:
                for mode in args.modes:
                    runs = [
                        run_child(mode, sim.base_url, args.items, conc) for _ in range(args.repeats)
                    ]
                    med = statistics.median(r["items_per_s"] for r in runs)
                    cpu = statistics.median(r["cpu_ms_per_item"] for r in runs)
                    start = statistics.median(r["startup_s"] for r in runs)
                    each = ", ".join(f"{r['items_per_s']:.0f}" for r in runs)
                    print(
                        f"| {mode} | {conc} | {med:.0f} | {each} | {cpu:.2f} | {start:.2f} |",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
