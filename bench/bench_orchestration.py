"""What Prefect orchestration costs on a quarter: the real flow versus the engine alone.

One quarter of ``--workloads`` workloads x ``--items`` items x 2 candidates (the fine-tune and
one buy alternative), every request answered by relitigate's provider simulator in its own
process with a fixed latency (200 ms by default). Two variants, each in a fresh Python process
with its own fresh SQLite registry, data folder and ``PREFECT_HOME``:

- ``prefect``: the real ``relitigate-quarter`` flow on Prefect's embedded ephemeral API (no
  ``PREFECT_API_URL``): workload subflows, benchmark and decide tasks, artifacts, notice
  delivery. A trivial flow runs first, so the temporary API server is up before the clock
  starts; its cost is reported as the start-up figure.
- ``engine``: the same work without Prefect: the same ``active_workload_names``,
  ``existing_decision``, ``plan_workload``, ``preflight_workload``, ``run_benchmark`` (both
  candidates concurrently), ``record_decision`` (in a worker thread, like the decide task),
  memo read and ``deliver_pending`` calls, with the same bound on concurrent workloads
  (``RELITIGATE_MAX_CONCURRENT_WORKLOADS``, default 4), on plain asyncio.

Registry creation and the workloads sync happen before the clock starts in both variants.
Each repeat runs both variants, alternating which goes first. A separate ``startup`` child
measures Prefect's fixed cost in a fresh ``PREFECT_HOME``: ``import prefect``, the first
(trivial) flow run, which starts the temporary server, a second one, and the process's exit.

Usage::

    .venv/bin/python bench/bench_orchestration.py               # the table in BENCHMARKS.md
    .venv/bin/python bench/bench_orchestration.py --repeats 1 --workloads 4 --items 100
    .venv/bin/python bench/bench_orchestration.py --keep DIR     # keep registries and memos
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import shutil
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

QUARTER = "2026Q2"
SIM_KEY_ENV = "RELITIGATE_BENCH_SIM_KEY"
FT_MODELS = ("bench-ft-strong", "bench-ft-close", "bench-ft-weak")
BUY_MODEL = "bench-frontier"


# --------------------------------------------------------------------------- scenario


def profile(latency_ms: float) -> dict[str, Any]:
    accuracies = {"bench-ft-strong": 0.95, "bench-ft-close": 0.88, "bench-ft-weak": 0.70}
    models = [(name, acc) for name, acc in accuracies.items()] + [(BUY_MODEL, 0.87)]
    return {
        "seed": 5,
        "api_key": "sim-bench-key",
        "models": [
            {"name": n, "version": f"{n}-sim", "accuracy": a, "latency": {"fixed_ms": latency_ms}}
            for n, a in models
        ],
    }


def write_evalset(path: Path, items: int) -> None:
    tag = path.stem
    labels = ("billing", "outage", "login", "refund", "feature-request", "security")
    lines = [
        json.dumps(
            {
                "id": f"{tag}-{i:04d}",
                "input": f"{tag} ticket {i:05d}: the customer writes about {labels[i % 6]}.",
                "target": labels[i % 6],
            }
        )
        for i in range(items)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _candidate(name: str, model: str, api_base: str, prices: tuple[float, float]) -> dict[str, Any]:
    return {
        "name": name,
        "route": f"openai/{model}",
        "api_base": api_base,
        "api_key_env": SIM_KEY_ENV,
        "prompt": {"system": "Answer with the label only.", "template": "{input}"},
        "params": {"temperature": 0, "max_tokens": 16},
        "pricing": {"input_per_mtok": prices[0], "output_per_mtok": prices[1]},
        "limits": {"concurrency": 32, "max_attempts": 2, "timeout_s": 10},
    }


def workloads_file(n: int, api_base: str) -> dict[str, Any]:
    workloads = []
    for i in range(n):
        name = f"workload-{i:02d}"
        domain = i % 4 == 0
        workloads.append(
            {
                "name": name,
                "owner": {"email": f"{name}@example.com", "slack_channel": f"#{name}"},
                "case": "domain_expertise" if domain else "cost_distillation",
                "volume_per_day": 40_000 if domain else 10_000_000,
                "fixed_costs_monthly_usd": 5_000,
                "adopted": "2025Q3",
                "eval_set": {"path": f"evalsets/{name}.jsonl", "scorer": {"kind": "exact"}},
                "fine_tune": _candidate("ft", FT_MODELS[i % 3], api_base, (0.1, 0.4)),
                "buy": [_candidate("frontier", BUY_MODEL, api_base, (1.25, 10.0))],
            }
        )
    return {"version": 1, "workloads": workloads}


# --------------------------------------------------------------------------- child side


def _server_processes() -> list[Any]:
    """This process's descendants (Prefect's temporary API server runs in one)."""
    import psutil

    procs: list[Any] = psutil.Process().children(recursive=True)
    return procs


def _cpu_of(procs: list[Any]) -> float:
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except Exception:
            pass
    return total


def _setup_registry(folder: Path) -> None:
    from registry.db import upgrade_to_head
    from registry.sync import sync_workloads
    from tasks.context import opened

    url = os.environ["RELITIGATE_DATABASE_URL"]
    upgrade_to_head(url)
    with opened() as ctx, ctx.sessions.begin() as session:
        sync_workloads(session, folder / "workloads.yaml")


def _check_registry(workloads: int, items: int) -> dict[str, Any]:
    from sqlalchemy import func, select

    from registry.models import Decision, Run
    from tasks.context import opened

    with opened() as ctx, ctx.sessions.begin() as session:
        decisions = session.execute(
            select(Decision.verdict, func.count()).group_by(Decision.verdict)
        ).all()
        runs = session.scalars(select(Run)).all()
        done = sum(int((r.stats or {}).get("items_done") or 0) for r in runs)
    verdicts = {str(v.value if hasattr(v, "value") else v): int(c) for v, c in decisions}
    return {"verdicts": verdicts, "runs": len(runs), "items_done": done,
            "expected_items": workloads * items * 2}  # fmt: skip


async def _engine_quarter(quarter: str) -> list[dict[str, Any]]:
    """The quarter flow's work, call for call, on plain asyncio (no Prefect)."""
    import functools

    import anyio

    from tasks.benchmark import preflight_workload, run_benchmark
    from tasks.context import open_context
    from tasks.decide import existing_decision, record_decision
    from tasks.notices import deliver_pending
    from tasks.plan import active_workload_names, plan_workload

    ctx = open_context()
    names = await anyio.to_thread.run_sync(active_workload_names, ctx, None)
    limit = asyncio.Semaphore(max(1, ctx.settings.max_concurrent_workloads))

    async def one(name: str) -> dict[str, Any]:
        async with limit:
            done = await anyio.to_thread.run_sync(existing_decision, ctx, name, quarter)
            if done is not None:
                return done.to_json()
            plan = await anyio.to_thread.run_sync(plan_workload, ctx, name)
            await anyio.to_thread.run_sync(preflight_workload, ctx, name)
            await asyncio.gather(
                run_benchmark(ctx, name, plan.fine_tune, quarter),
                *(run_benchmark(ctx, name, buy, quarter) for buy in plan.buys),
            )
            summary = await anyio.to_thread.run_sync(
                functools.partial(record_decision, ctx, name, quarter)
            )
            if summary.memo_path:
                await anyio.Path(summary.memo_path).read_text(encoding="utf-8")
            return summary.to_json()

    results = await asyncio.gather(*(one(n) for n in names), return_exceptions=True)
    await anyio.to_thread.run_sync(deliver_pending, ctx)
    ctx.close()
    failed = [r for r in results if isinstance(r, BaseException)]
    if failed:
        raise RuntimeError(f"{len(failed)} workload(s) failed: {failed[0]!r}")
    return [r for r in results if not isinstance(r, BaseException)]


def child_run(args: argparse.Namespace) -> dict[str, Any]:
    folder = Path(args.folder)
    _setup_registry(folder)
    out: dict[str, Any] = {"variant": args.child}
    if args.child == "engine":
        cpu0, t0 = time.process_time(), time.perf_counter()
        rows = asyncio.run(_engine_quarter(QUARTER))
        out["wall_s"] = time.perf_counter() - t0
        out["cpu_s"] = time.process_time() - cpu0
    else:
        from prefect import flow

        from flows.parameters import QuarterRequest
        from flows.quarter import relitigate_quarter

        @flow(name="bench-warm-up")
        async def warm_up() -> int:
            return 1

        async def main() -> list[dict[str, Any]]:
            t0 = time.perf_counter()
            await warm_up()
            out["startup_s"] = time.perf_counter() - t0
            server = _server_processes()
            server_cpu0 = _cpu_of(server)
            cpu0, t1 = time.process_time(), time.perf_counter()
            outcome = await relitigate_quarter(QuarterRequest(quarter=QUARTER))
            result = [d.to_json() for d in outcome.decisions]
            out["wall_s"] = time.perf_counter() - t1
            out["cpu_s"] = time.process_time() - cpu0
            out["server_cpu_s"] = _cpu_of(server) - server_cpu0
            # The API server keeps working through its event backlog after the flow returns.
            await asyncio.sleep(3.0)
            out["server_cpu_after_3s"] = _cpu_of(server) - server_cpu0
            return result

        rows = asyncio.run(main())
    out["decisions_returned"] = len(rows)
    out.update(_check_registry(args.workloads, args.items))
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def child_startup() -> dict[str, Any]:
    t0 = time.perf_counter()
    import prefect

    t_import = time.perf_counter() - t0
    from prefect import flow

    @flow(name="bench-trivial")
    async def trivial() -> int:
        return 1

    async def main() -> tuple[float, float]:
        t1 = time.perf_counter()
        await trivial()
        t2 = time.perf_counter()
        await trivial()
        return t2 - t1, time.perf_counter() - t2

    first, second = asyncio.run(main())
    return {"import_prefect_s": t_import, "first_flow_s": first, "second_flow_s": second,
            "prefect_version": prefect.__version__}  # fmt: skip


# --------------------------------------------------------------------------- parent side


def child_env(folder: Path, run_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "RELITIGATE_"))}
    env.update(
        {
            "RELITIGATE_DATABASE_URL": f"sqlite:///{run_dir / 'registry.sqlite3'}",
            "RELITIGATE_DATA_DIR": str(run_dir),
            SIM_KEY_ENV: "sim-bench-key",
            "PREFECT_HOME": str(run_dir / "prefect-home"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_LOGGING_LEVEL": "WARNING",
            "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "LITELLM_OFFLINE_MODE": "true",
        }
    )
    if os.environ.get("RELITIGATE_MAX_CONCURRENT_WORKLOADS"):
        env["RELITIGATE_MAX_CONCURRENT_WORKLOADS"] = os.environ[
            "RELITIGATE_MAX_CONCURRENT_WORKLOADS"
        ]
    return env


def run_child(mode: str, folder: Path, run_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    run_dir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, __file__, "--child", mode, "--folder", str(folder),
           "--workloads", str(args.workloads), "--items", str(args.items)]  # fmt: skip
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=900,
                          env=child_env(folder, run_dir), cwd=ROOT)  # fmt: skip
    process_s = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_s"] = process_s
    return result


def machine() -> dict[str, Any]:
    model = "?"
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"nproc": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "loadavg": os.getloadavg()}  # fmt: skip


def sim_requests(sim: Any) -> int:
    return sum(int(m.get("requests", 0)) for m in sim.stats()["models"].values())


def sim_cpu(sim: Any) -> float:
    import psutil

    t = psutil.Process(sim.proc.pid).cpu_times()
    return float(t.user + t.system)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--folder", help=argparse.SUPPRESS)
    p.add_argument("--workloads", type=int, default=20)
    p.add_argument("--items", type=int, default=500)
    p.add_argument("--latency-ms", type=float, default=200.0)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--variants", nargs="+", default=["engine", "prefect"])
    p.add_argument("--keep", help="keep the scenario folder here (registries, memos)")
    args = p.parse_args()
    if args.child:
        out = child_startup() if args.child == "startup" else child_run(args)
        print(json.dumps(out))
        return

    from relitigate.simulator import SimulatorProcess

    before = machine()
    print(f"# machine: nproc={before['nproc']}, CPU {before['cpu']}, Python {before['python']}, "
          f"load average before {before['loadavg']}", flush=True)  # fmt: skip
    folder = Path(args.keep or tempfile.mkdtemp(prefix="bench-orch-")).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        evals = folder / "evalsets"
        evals.mkdir(exist_ok=True)
        paths = []
        for i in range(args.workloads):
            path = evals / f"workload-{i:02d}.jsonl"
            write_evalset(path, args.items)
            paths.append(path)
        import yaml

        prof = folder / "profile.yaml"
        prof.write_text(yaml.safe_dump(profile(args.latency_ms), sort_keys=False))
        with SimulatorProcess(prof, paths) as sim:
            (folder / "workloads.yaml").write_text(
                yaml.safe_dump(workloads_file(args.workloads, sim.base_url), sort_keys=False)
            )
            print(f"# {args.workloads} workloads x {args.items} items x 2 candidates, simulator "
                  f"at {sim.base_url} ({args.latency_ms:.0f} ms fixed latency), "
                  f"max concurrent workloads "
                  f"{os.environ.get('RELITIGATE_MAX_CONCURRENT_WORKLOADS', '4 (default)')}",
                  flush=True)  # fmt: skip
            st = run_child("startup", folder, folder / "run-startup", args)
            print(
                f"# start-up (fresh PREFECT_HOME): import prefect {st['import_prefect_s']:.2f} s,"
                f" first trivial flow (starts the temporary API server) "
                f"{st['first_flow_s']:.2f} s, second {st['second_flow_s']:.3f} s, whole process "
                f"{st['process_s']:.2f} s (prefect {st['prefect_version']})",
                flush=True,
            )
            st2 = run_child("startup", folder, folder / "run-startup", args)
            print(
                f"# start-up again, same PREFECT_HOME (its database exists): import prefect "
                f"{st2['import_prefect_s']:.2f} s, first trivial flow {st2['first_flow_s']:.2f} s,"
                f" whole process {st2['process_s']:.2f} s",
                flush=True,
            )
            results: dict[str, list[dict[str, Any]]] = {v: [] for v in args.variants}
            for r in range(args.repeats):
                order = args.variants if r % 2 == 0 else list(reversed(args.variants))
                for variant in order:
                    n0, c0 = sim_requests(sim), sim_cpu(sim)
                    load0 = os.getloadavg()[0]
                    res = run_child(variant, folder, folder / f"run-{r}-{variant}", args)
                    res["sim_requests"] = sim_requests(sim) - n0
                    res["sim_cpu_s"] = sim_cpu(sim) - c0
                    res["load1_before"] = load0
                    results[variant].append(res)
                    print(f"# run {r + 1} {variant}: " + json.dumps(res), flush=True)
            after = machine()
        print(f"# load average after {after['loadavg']}")
        print()
        print(
            f"| variant | wall s (median of {args.repeats}) | runs | client CPU s | "
            f"API server CPU s | simulator CPU s | process s (incl. imports, start-up, exit) |"
        )
        print("|---|---:|---|---:|---:|---:|---:|")
        med: dict[str, float] = {}
        for variant, runs in results.items():
            med[variant] = statistics.median(x["wall_s"] for x in runs)
            each = ", ".join(f"{x['wall_s']:.1f}" for x in runs)
            cpu = statistics.median(x["cpu_s"] for x in runs)
            srv = (f"{statistics.median(x['server_cpu_after_3s'] for x in runs):.1f}"
                   if "server_cpu_after_3s" in runs[0] else "-")  # fmt: skip
            simc = statistics.median(x["sim_cpu_s"] for x in runs)
            proc = statistics.median(x["process_s"] for x in runs)
            print(
                f"| {variant} | {med[variant]:.1f} | {each} | {cpu:.1f} | {srv} | {simc:.1f} "
                f"| {proc:.1f} |"
            )
        if "engine" in med and "prefect" in med:
            ratio = med["prefect"] / med["engine"]
            pairs = [a["wall_s"] / b["wall_s"] for a, b in
                     zip(results["prefect"], results["engine"], strict=True)]  # fmt: skip
            startup = statistics.median(x["startup_s"] for x in results["prefect"])
            print()
            print(
                f"ratio prefect/engine (medians): {ratio:.3f}  (per repeat: "
                f"{', '.join(f'{x:.3f}' for x in pairs)}); target <= 1.25: "
                f"{'met' if ratio <= 1.25 else 'MISSED'}"
            )
            print(
                f"Prefect start-up inside the runs (warm-up flow, PREFECT_HOME fresh): "
                f"median {startup:.2f} s"
            )
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
