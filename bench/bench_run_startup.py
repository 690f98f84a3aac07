"""The fixed cost of ``relitigate run`` on one small workload, outside the benchmark itself.

One workload (a fine-tune and one buy alternative, ``--items`` items, 5 ms simulator latency,
the simulator in this process), each ``relitigate run`` a new process on a registry of its
own (copied from one synced template, so nothing is paid twice across runs). Variants,
interleaved ``--runs`` times:

- ``embedded``: no ``PREFECT_API_URL``, a fresh ``PREFECT_HOME``: Prefect's temporary API
  server starts (and migrates its database) inside the run, as on a first run;
- ``embedded-warm``: the same with a ``PREFECT_HOME`` whose database already exists;
- ``serve``: ``relitigate serve`` is running (started once, before the clock) and the run
  uses its API (``relitigate.prefect_server.use_running_serve``).

Reported (medians): the whole process's wall time; the benchmark part (from the first request
of either candidate to the last reply, from the runs' stored statistics); the rest (process
start, imports, Prefect's server, set-up before the first item, decision, exit); and, once,
``python -X importtime`` of the command's imports.

Usage::

    .venv/bin/python bench/bench_run_startup.py [--runs 3] [--items 200]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")
QUARTER = "2026Q1"


def write_evalset(folder: Path, items: int) -> Path:
    evalset = folder / "triage.jsonl"
    evalset.write_text(
        "".join(
            json.dumps({"id": f"t-{i:04d}", "input": f"ticket {i}", "target": f"q{i % 5}"}) + "\n"
            for i in range(items)
        ),
        encoding="utf-8",
    )
    return evalset


def scenario(folder: Path, api_base: str, evalset: Path) -> Path:
    import yaml

    def candidate(name: str, model: str, price: float) -> dict[str, Any]:
        return {
            "name": name,
            "route": f"openai/{model}",
            "api_base": api_base,
            "params": {"max_tokens": 8},
            "pricing": {"input_per_mtok": price, "output_per_mtok": 3 * price},
            "limits": {"concurrency": 16, "max_attempts": 2, "timeout_s": 10},
        }

    data = {
        "version": 1,
        "workloads": [
            {
                "name": "triage",
                "owner": {"email": "triage@example.com"},
                "case": "cost_distillation",
                "volume_per_day": 20_000_000,
                "fixed_costs_monthly_usd": 1000,
                "adopted": "2025Q4",
                "eval_set": {"path": str(evalset), "scorer": {"kind": "exact"}},
                "fine_tune": candidate("ft", "ft-good", 0.05),
                "buy": [candidate("frontier", "frontier", 0.5)],
            }
        ],
    }
    path = folder / "relitigate.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def template_registry(folder: Path, workloads: Path) -> Path:
    from registry.db import make_engine, session_factory, upgrade_to_head
    from registry.sync import sync_workloads

    path = folder / "template.sqlite3"
    url = f"sqlite:///{path}"
    upgrade_to_head(url)
    engine = make_engine(url)
    with session_factory(engine).begin() as session:
        sync_workloads(session, workloads)
    engine.dispose()
    return path


def env_for(data: Path, home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "RELITIGATE_"))}
    env.update(
        RELITIGATE_DATA_DIR=str(data),
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        RELITIGATE_RETRY_COOLDOWN_S="0",
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        LITELLM_OFFLINE_MODE="true",
        NO_PROXY="127.0.0.1,localhost",
    )
    env.update(extra)
    return env


def benchmark_window(registry: Path) -> float:
    """First request to last reply over both candidates' runs (their stored statistics)."""
    from sqlalchemy import create_engine, select

    from registry.models import Run

    engine = create_engine(f"sqlite:///{registry}")
    with engine.connect() as conn:
        rows = conn.execute(select(Run.stats, Run.finished_at)).all()
    engine.dispose()
    spans = []
    for stats, finished in rows:
        if not stats or finished is None:
            continue
        end = finished if isinstance(finished, datetime) else datetime.fromisoformat(finished)
        spans.append((end.timestamp() - float(stats["wall_s"]), end.timestamp()))
    return max(e for _, e in spans) - min(s for s, _ in spans) if spans else 0.0


def one_run(variant: str, folder: Path, template: Path, serve_data: Path, i: int) -> dict[str, Any]:
    run_dir = folder / f"{variant}-{i}"
    run_dir.mkdir(parents=True, exist_ok=True)
    data = serve_data if variant == "serve" else run_dir / "data"
    data.mkdir(parents=True, exist_ok=True)
    registry = run_dir / "registry.sqlite3"
    shutil.copy(template, registry)
    home = folder / "warm-home" if variant == "embedded-warm" else run_dir / "prefect-home"
    env = env_for(data, home, RELITIGATE_DATABASE_URL=f"sqlite:///{registry}")
    argv = [sys.executable, "-m", "relitigate", "run", "--quarter", QUARTER, "--json"]
    t0 = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"{variant}: run failed:\n{done.stderr[-3000:]}")
    bench = benchmark_window(registry)
    return {"variant": variant, "wall_s": wall, "benchmark_s": bench, "rest_s": wall - bench}


def importtime(folder: Path, template: Path) -> list[tuple[str, float]]:
    registry = folder / "imports.sqlite3"
    shutil.copy(template, registry)
    env = env_for(
        folder / "imports-data",
        folder / "imports-home",
        RELITIGATE_DATABASE_URL=f"sqlite:///{registry}",
    )
    code = "import relitigate.cli.app, relitigate.cli.flow_cmds, flows.quarter"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    top = []
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[2].startswith(" ") and not parts[2].startswith("  "):
            try:
                top.append((parts[2].strip(), int(parts[1]) / 1e6))
            except ValueError:
                continue
    return sorted(top, key=lambda x: -x[1])[:8]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--items", type=int, default=200)
    p.add_argument("--variants", nargs="+", default=["embedded", "embedded-warm", "serve"])
    args = p.parse_args()
    from relitigate.prefect_server import free_port
    from relitigate.simulator import Profile, SimulatorServer

    folder = Path(tempfile.mkdtemp(prefix="bench-run-startup-"))
    profile = Profile.model_validate(
        {
            "seed": 1,
            "models": [
                {"name": "ft-good", "accuracy": 0.97, "latency": {"fixed_ms": 5}},
                {"name": "frontier", "accuracy": 0.9, "latency": {"fixed_ms": 5}},
            ],
        }
    )
    print(f"# machine: nproc={os.cpu_count()}, load average before {os.getloadavg()}")
    serve = None
    try:
        evalset = write_evalset(folder, args.items)
        with SimulatorServer(profile, [evalset]) as sim:
            template = template_registry(folder, scenario(folder, sim.base_url, evalset))
            serve_data = folder / "serve-data"
            if "serve" in args.variants:
                serve_env = env_for(
                    serve_data,
                    folder / "serve-home",
                    RELITIGATE_DATABASE_URL=f"sqlite:///{template}",
                )
                argv = [sys.executable, "-m", "relitigate", "serve", "--port", str(free_port())]
                serve = subprocess.Popen(
                    argv,
                    env=serve_env,
                    cwd=ROOT,
                    start_new_session=True,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                from relitigate.prefect_server import running_serve_api

                deadline = time.monotonic() + 240
                while running_serve_api(serve_data) is None:
                    if time.monotonic() > deadline or serve.poll() is not None:
                        raise RuntimeError("relitigate serve did not come up")
                    time.sleep(0.5)
            if "embedded-warm" in args.variants:  # its database created before the clock
                one_run("embedded-warm", folder, template, serve_data, -1)
            rows: dict[str, list[dict[str, Any]]] = {v: [] for v in args.variants}
            for i in range(args.runs):
                for v in args.variants if i % 2 == 0 else list(reversed(args.variants)):
                    rows[v].append(one_run(v, folder, template, serve_data, i))
                    print("# " + json.dumps(rows[v][-1]), flush=True)
            imports = importtime(folder, template)
    finally:
        if serve is not None:
            os.killpg(serve.pid, signal.SIGINT)
            serve.wait(60)
        shutil.rmtree(folder, ignore_errors=True)
    print(f"# load average after {os.getloadavg()}\n")
    print(
        f"| variant | whole run s (median of {args.runs}) | benchmark s | outside the benchmark s |"
    )
    print("|---|---:|---:|---:|")
    for v, rs in rows.items():
        med = {k: statistics.median(r[k] for r in rs) for k in ("wall_s", "benchmark_s", "rest_s")}
        print(f"| {v} | {med['wall_s']:.1f} | {med['benchmark_s']:.2f} | {med['rest_s']:.1f} |")
    print(
        "\nimports of the run command (python -X importtime, cumulative s): "
        + ", ".join(f"{name} {s:.2f}" for name, s in imports)
    )


if __name__ == "__main__":
    main()
