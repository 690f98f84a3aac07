"""A quarter fanned out over Prefect process workers, under shared provider rate limits.

Everything is a real process on 127.0.0.1: a Prefect server on its own PostgreSQL database;
``relitigate deploy --gpu-pool-type process`` (pools, deployments, each workload's
concurrency limit and each route's rate limits, from the registry); ``--workers`` process
workers on ``relitigate-local``; the provider simulator (its own process) with
``--rps`` requests a second per model (HTTP 429 over it); a PostgreSQL registry per variant.
Each workload has a fine-tune and one buy alternative on two simulator models, every candidate
declaring the simulator's limit as its ``rpm``, so each model's budget is shared by every
process calling it.

Variants (each on a fresh registry, the quarter flow in a child process of its own):

- ``fanout``: ``RELITIGATE_WORKLOAD_DEPLOYMENT=relitigate-workload/fan-out``: each workload is
  a flow run of the fan-out deployment, picked up by the workers;
- ``single``: the same quarter in one process (workload subflows), same server and limits;
- ``kill``: as ``fanout``; once ``--kill-at`` of the items are answered the simulator is paused
  (what is in flight is never answered), every flow-run process of the busiest worker is
  SIGKILLed, and the simulator resumes. The worker reports those runs crashed; the quarter
  starts them again (``RELITIGATE_WORKLOAD_RETRIES``) and they resume once the killed
  holders' leases expire.

Reported per variant: wall time of the quarter process, requests, 429s as a share of
requests, answered calls per second over the calling window (first to last answer, sampled
every 0.25 s) against the limit (``--rps`` x 2 models), decisions recorded (one per workload
expected) and items answered more than once (0 expected: the simulator counts completions per
item id, and item ids are unique per workload).

Usage::

    .venv/bin/python bench/bench_scale.py                      # the table in BENCHMARKS.md
    .venv/bin/python bench/bench_scale.py --workloads 100 --items 200 --concurrent 12
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")

QUARTER = "2026Q2"
MODELS = ("scale-ft", "scale-frontier")
FAN_OUT = "relitigate-workload/fan-out"
ADMIN_URL = os.environ.get(
    "RELITIGATE_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


# --------------------------------------------------------------------------- scenario


def profile(rps: int, latency_ms: float) -> dict[str, Any]:
    return {
        "seed": 7,
        "models": [
            {"name": name, "accuracy": acc, "latency": {"fixed_ms": latency_ms}, "rpm": rps * 60}
            for name, acc in zip(MODELS, (0.93, 0.9), strict=True)
        ],
    }


def write_evalset(path: Path, items: int) -> None:
    tag = path.stem
    path.write_text(
        "".join(
            json.dumps(
                {
                    "id": f"{tag}-{i:04d}",
                    "input": f"{tag} ticket {i}: which queue?",
                    "target": f"q{i % 5}",
                }
            )
            + "\n"
            for i in range(items)
        ),
        encoding="utf-8",
    )


def workloads_file(n: int, folder: Path, api_base: str, rps: int) -> dict[str, Any]:
    def candidate(name: str, model: str, price: float) -> dict[str, Any]:
        return {
            "name": name,
            "route": f"openai/{model}",
            "api_base": api_base,
            "params": {"max_tokens": 8},
            "pricing": {"input_per_mtok": price, "output_per_mtok": 3 * price},
            "limits": {"concurrency": 32, "max_attempts": 4, "timeout_s": 20, "rpm": rps * 60},
        }

    return {
        "version": 1,
        "workloads": [
            {
                "name": f"w{i:03d}",
                "owner": {"email": f"w{i:03d}@example.com"},
                "case": "cost_distillation",
                "volume_per_day": 20_000_000,
                "fixed_costs_monthly_usd": 1000,
                "adopted": "2025Q4",
                "eval_set": {
                    "path": str(folder / "evalsets" / f"w{i:03d}.jsonl"),
                    "scorer": {"kind": "exact"},
                },
                "fine_tune": candidate("ft", MODELS[0], 0.05),
                "buy": [candidate("frontier", MODELS[1], 0.5)],
            }
            for i in range(n)
        ],
    }


# --------------------------------------------------------------------------- databases


def _admin() -> Any:
    from sqlalchemy import create_engine

    return create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")


def create_database(tag: str) -> str:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    name = f"bench_scale_{tag}_{secrets.token_hex(3)}"
    engine = _admin()
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(ADMIN_URL).set(database=name).render_as_string(False)


def drop_database(url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    engine = _admin()
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    engine.dispose()


def new_registry(workloads_yaml: Path) -> str:
    from registry.db import make_engine, session_factory, upgrade_to_head
    from registry.sync import sync_workloads

    url = create_database("registry")
    upgrade_to_head(url)
    engine = make_engine(url)
    with session_factory(engine).begin() as session:
        sync_workloads(session, workloads_yaml)
    engine.dispose()
    return url


def registry_counts(url: str) -> dict[str, Any]:
    from sqlalchemy import create_engine, func, select

    from registry.models import Decision, ItemResult

    engine = create_engine(url)
    with engine.connect() as conn:
        decisions = conn.execute(
            select(Decision.workload_id, Decision.quarter, func.count()).group_by(
                Decision.workload_id, Decision.quarter
            )
        ).all()
        results = conn.scalar(select(func.count()).select_from(ItemResult))
    engine.dispose()
    return {
        "decisions": sum(int(c) for *_, c in decisions),
        "workloads_decided": len(decisions),
        "decided_twice": sum(1 for *_, c in decisions if int(c) > 1),
        "item_results": int(results or 0),
    }


# --------------------------------------------------------------------------- processes


def base_env(home: Path, api_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "RELITIGATE_"))}
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_API_URL=api_url,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOGGING_LEVEL="WARNING",
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        LITELLM_OFFLINE_MODE="true",
        NO_PROXY="127.0.0.1,localhost",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def start_worker(name: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    argv = [
        str(Path(sys.executable).with_name("prefect")),
        "worker",
        "start",
        "--pool",
        "relitigate-local",
        "--type",
        "process",
        "--name",
        name,
    ]
    with log.open("ab") as out:
        return subprocess.Popen(
            argv, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def kill_flow_runs(worker: subprocess.Popen[bytes]) -> int:
    """SIGKILL every process the worker started (its flow runs); the worker lives on."""
    import psutil

    children = psutil.Process(worker.pid).children(recursive=True)
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    return len(children)


class Sampler(threading.Thread):
    """Samples the simulator's answered calls every 0.25 s (the calling window)."""

    def __init__(self, sim: Any) -> None:
        super().__init__(daemon=True)
        self.sim, self.stop = sim, threading.Event()
        self.samples: list[tuple[float, int]] = []

    def completions(self) -> int:
        return sum(int(m["completions"]) for m in self.sim.stats()["models"].values())

    def run(self) -> None:
        while not self.stop.is_set():
            self.samples.append((time.monotonic(), self.completions()))
            time.sleep(0.25)

    def window(self) -> tuple[float, int]:
        first = self.samples[0][1]
        moving = [(t, c) for t, c in self.samples if c > first]
        if len(moving) < 2:
            return 0.0, 0
        last = self.samples[-1][1]
        t_end = next(t for t, c in self.samples if c == last)
        start = max(t for t, c in self.samples if c == first)
        return t_end - start, last - first


# --------------------------------------------------------------------------- child: the quarter


def child_quarter() -> dict[str, Any]:
    from flows.parameters import QuarterRequest
    from flows.quarter import QuarterFailedError, relitigate_quarter

    t0 = time.perf_counter()
    try:
        outcome = asyncio.run(relitigate_quarter(QuarterRequest(quarter=QUARTER, deliver=False)))
        failures = []
    except QuarterFailedError as exc:
        assert exc.outcome is not None
        outcome, failures = exc.outcome, [f.detail for f in exc.outcome.failures]
    return {
        "wall_s": time.perf_counter() - t0,
        "decided": len(outcome.decisions),
        "failures": failures,
    }


# --------------------------------------------------------------------------- one variant


def run_variant(variant: str, ctx: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    folder: Path = ctx["folder"]
    run_dir = folder / f"run-{variant}"
    run_dir.mkdir()
    registry = new_registry(folder / "workloads.yaml")
    ctx["databases"].append(registry)
    sim = ctx["sim"]
    common = {
        "RELITIGATE_DATABASE_URL": registry,
        "RELITIGATE_LEASE_TTL_S": "8",
        "RELITIGATE_LEASE_HEARTBEAT_S": "2",
        "RELITIGATE_RETRY_COOLDOWN_S": "1",
    }
    workers = []
    if variant != "single":
        for i in range(args.workers):
            env = base_env(
                run_dir / f"worker-{i}",
                ctx["api"],
                **common,
                RELITIGATE_DATA_DIR=str(run_dir / f"worker-{i}-data"),
                PREFECT_WORKER_QUERY_SECONDS="1",
            )
            workers.append(start_worker(f"w{i}", env, run_dir / f"worker-{i}.log"))
    quarter_env = base_env(
        run_dir / "quarter",
        ctx["api"],
        **common,
        RELITIGATE_DATA_DIR=str(run_dir / "quarter-data"),
        RELITIGATE_MAX_CONCURRENT_WORKLOADS=str(args.concurrent),
    )
    if variant != "single":
        quarter_env["RELITIGATE_WORKLOAD_DEPLOYMENT"] = FAN_OUT
    sim.reset_stats()  # duplicates count within this variant only
    before = sim.stats()["models"]
    sampler = Sampler(sim)
    sampler.start()
    killed = 0
    try:
        t0 = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, __file__, "--child"],
            env=quarter_env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        if variant == "kill":
            killed = _kill_midway(sim, workers, args)
        out, err = child.communicate(timeout=args.timeout)
        wall = time.perf_counter() - t0
    finally:
        sampler.stop.set()
        sampler.join()
        for w in workers:
            stop_group(w)
    if child.returncode != 0:
        raise RuntimeError(f"{variant}: the quarter failed ({child.returncode}):\n{err[-4000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    after = sim.stats()["models"]
    delta = {
        k: sum(int(after[m][k]) - int(before[m][k]) for m in MODELS)
        for k in ("requests", "completions", "rate_limited", "duplicate_completions")
    }
    window_s, answered = sampler.window()
    limit = args.rps * len(MODELS)
    return {
        "variant": variant,
        "wall_s": round(wall, 1),
        "quarter_s": round(result["wall_s"], 1),
        "failures": result["failures"],
        **delta,
        "share_429": delta["rate_limited"] / max(1, delta["requests"]),
        "window_s": round(window_s, 1),
        "throughput_rps": answered / window_s if window_s else 0.0,
        "limit_rps": limit,
        "killed_processes": killed,
        **registry_counts(registry),
    }


def _kill_midway(sim: Any, workers: list[subprocess.Popen[bytes]], args: argparse.Namespace) -> int:
    expected = args.workloads * args.items * len(MODELS)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        done = sum(int(m["completions"]) for m in sim.stats()["models"].values())
        if done >= args.kill_at * expected:
            break
        time.sleep(0.2)
    import psutil

    sim.pause()  # what is in flight now is never answered
    time.sleep(1.0)  # results already answered reach the registry (flushed every 0.25 s)
    busiest = max(workers, key=lambda w: len(psutil.Process(w.pid).children(recursive=True)))
    killed = kill_flow_runs(busiest)
    time.sleep(0.5)
    sim.resume()
    name = f"w{workers.index(busiest)}"
    print(f"# kill: {killed} flow-run process(es) of worker {name} SIGKILLed", flush=True)
    return killed


# --------------------------------------------------------------------------- main


def machine() -> dict[str, Any]:
    model = "?"
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "loadavg": os.getloadavg(),
    }


def deploy(api: str, registry: str, home: Path) -> None:
    env = base_env(home, api, RELITIGATE_DATABASE_URL=registry)
    argv = [sys.executable, "-m", "relitigate", "deploy", "--gpu-pool-type", "process"]
    done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"deploy failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    for line in done.stdout.splitlines():
        if "rate limit" in line:
            print(f"# {line}", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--workloads", type=int, default=12)
    p.add_argument("--items", type=int, default=200)
    p.add_argument("--workers", type=int, default=3)
    p.add_argument("--rps", type=int, default=100, help="the simulator's limit per model")
    p.add_argument("--latency-ms", type=float, default=50.0)
    p.add_argument("--concurrent", type=int, default=6, help="workloads at once")
    p.add_argument("--kill-at", type=float, default=0.3)
    p.add_argument("--variants", nargs="+", default=["fanout", "single", "kill"])
    p.add_argument("--timeout", type=float, default=1800)
    p.add_argument("--keep", help="keep the scenario folder here")
    args = p.parse_args()
    if args.child:
        print(json.dumps(child_quarter()))
        return
    import yaml

    from relitigate.prefect_server import LocalPrefectServer, free_port
    from relitigate.simulator import SimulatorProcess

    m = machine()
    print(
        f"# machine: nproc={m['nproc']}, CPU {m['cpu']}, Python {m['python']}, "
        f"load average before {m['loadavg']}",
        flush=True,
    )
    folder = Path(args.keep or tempfile.mkdtemp(prefix="bench-scale-")).resolve()
    (folder / "evalsets").mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(args.workloads):
        paths.append(folder / "evalsets" / f"w{i:03d}.jsonl")
        write_evalset(paths[-1], args.items)
    (folder / "profile.yaml").write_text(yaml.safe_dump(profile(args.rps, args.latency_ms)))
    ctx: dict[str, Any] = {"folder": folder, "databases": []}
    from sqlalchemy.engine import make_url

    server_db = create_database("prefect")
    ctx["databases"].append(server_db)
    server = LocalPrefectServer(
        home=folder / "prefect-server",
        port=free_port(),
        database_url=make_url(server_db)
        .set(drivername="postgresql+asyncpg")
        .render_as_string(False),
        extra_env={"PREFECT_UI_ENABLED": "false", "PREFECT_LOGGING_LEVEL": "WARNING"},
    )
    try:
        server.start(timeout_s=240)
        ctx["api"] = server.api_url
        with SimulatorProcess(folder / "profile.yaml", paths) as sim:
            ctx["sim"] = sim
            data = workloads_file(args.workloads, folder, sim.base_url, args.rps)
            (folder / "workloads.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
            deploy_registry = new_registry(folder / "workloads.yaml")
            ctx["databases"].append(deploy_registry)
            deploy(server.api_url, deploy_registry, folder / "deploy-home")
            print(
                f"# {args.workloads} workloads x {args.items} items x {len(MODELS)} models, "
                f"{args.rps} requests/s per model, {args.latency_ms:g} ms latency, "
                f"{args.workers} workers, {args.concurrent} workloads at once",
                flush=True,
            )
            rows = []
            for variant in args.variants:
                row = run_variant(variant, ctx, args)
                rows.append(row)
                print("# " + json.dumps(row), flush=True)
        _table(rows, args)
    finally:
        server.stop()
        for url in ctx["databases"]:
            drop_database(url)
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"# load average after {os.getloadavg()}")


def _table(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print()
    print(
        "| variant | wall s | requests | 429 share | answered/s (window) | of the limit | "
        "decisions (workloads) | decided twice | items answered twice | failures |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['variant']} | {r['wall_s']} | {r['requests']} | {r['share_429']:.2%} | "
            f"{r['throughput_rps']:.1f} ({r['window_s']} s) | "
            f"{r['throughput_rps'] / r['limit_rps']:.0%} | {r['decisions']} "
            f"({args.workloads}) | {r['decided_twice']} | {r['duplicate_completions']} | "
            f"{len(r['failures'])} |"
        )
    walls = {r["variant"]: r["wall_s"] for r in rows}
    if "fanout" in walls and "single" in walls:
        print(f"\nwall fanout / single: {walls['fanout'] / walls['single']:.2f}")


if __name__ == "__main__":
    main()
