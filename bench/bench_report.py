"""Benchmark: ``relitigate report`` and ``relitigate history`` on 1000 workloads x 40 quarters.

Run from the repository root::

    .venv/bin/python bench/bench_report.py [--workloads 1000] [--quarters 40] [--runs 3]
        [--baseline DIR]

Builds a registry on SQLite (a temporary file) and on PostgreSQL (a fresh database
``relitigate_bench_<pid>`` on ``--postgres``, dropped afterwards) with bulk inserts: every
workload has a fine-tune and a buy candidate and one decision per quarter whose JSON columns
are shaped and sized like the decide task's (gates, both sides, trend points up to that
quarter); watch/retire/inconclusive decisions carry a notice. Building is not timed.

Timed, each the median of ``--runs``:

* the whole command as a user runs it (a new process: interpreter start and imports
  included): ``report --format json``, ``report`` (terminal table), ``history W --json``,
  ``history W --plot FILE.png``;
* in process, imports done: reading and building the report (``load_report`` +
  JSON text) and the history (``load_history``), and the same through the fast path that
  the console script takes for them (``relitigate.cli.lean_read``, connection included).

With ``--baseline``, each command's output is also compared with the baseline code's
(``generated_at`` aside; the PNG byte for byte) and the result printed.

Each whole command is also given its CPU time (user + system of the child process), which
a busy machine inflates less than the wall time. ``--baseline DIR`` times the same commands
with the code of another checkout (``git worktree add DIR REV``) first on ``PYTHONPATH``, in
the same runs, interleaved with the current code's, so both see the same load.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

VERDICTS = ("keep", "keep", "keep", "watch", "retire", "inconclusive")


def quarters(n: int, last: tuple[int, int] = (2026, 4)) -> list[str]:
    """``n`` consecutive quarters ending at ``last``."""
    end = last[0] * 4 + last[1] - 1
    return [f"{o // 4}Q{o % 4 + 1}" for o in range(end - n + 1, end + 1)]


def _side(name: str, route: str, quality: float, cost: float) -> dict[str, Any]:
    return {
        "name": name, "route": route, "model_version": f"{name}-v1", "role": "fine_tune",
        "n_items": 400, "n_errors": 0, "error_rate": 0.0, "n_passed": int(400 * quality),
        "binary": True,
        "quality": {"value": quality, "low": quality - 0.03, "high": quality + 0.02,
                    "method": "wilson"},
        "quality_if_errors_passed": quality, "cost_per_call_usd": cost,
        "total_cost_usd": cost * 400, "cost_per_useful_task_usd": cost / quality,
        "latency_p50_ms": 44.0, "latency_p95_ms": 72.0, "mean_prompt_tokens": 24.4,
        "mean_completion_tokens": 2.4, "pricing": {"input_per_mtok": 0.1, "output_per_mtok": 0.4},
        "throughput": None,
    }  # fmt: skip


def decision_values(rng: random.Random, qs: list[str], i: int) -> dict[str, Any]:
    """JSON columns of decision ``i`` (quarter ``qs[i]``), like the decide task writes."""
    verdict = rng.choice(VERDICTS)
    ft, buy = 0.85 + rng.random() * 0.1, 0.7 + i * 0.006
    ratio = ft / buy
    side_ft = _side("ft", "openai/ft", ft, 4e-6)
    side_buy = _side("frontier", f"openai/f-{qs[i]}", buy, 5e-5)
    metrics = {
        "n_items": 400, "fine_tune": side_ft, "buy": side_buy,
        "ratio": {"value": ratio, "low": ratio - 0.04, "high": ratio + 0.04, "method": "bootstrap"},
        "difference": {"value": ft - buy, "low": ft - buy - 0.03, "high": ft - buy + 0.03,
                       "method": "bootstrap"},
        "bootstrap": {"resamples": 2000, "seed": 1}, "mcnemar": {"fine_tune_only": 6,
        "buy_only": 41, "p_value": 1e-7}, "minimum_detectable_difference": 0.046,
        "money": {"volume_per_day": 2.5e7, "days_per_month": 30.4,
                  "net_monthly_savings_usd": rng.uniform(-5000, 20000)},
        "error_rates": {"fine_tune": 0.0, "buy": 0.0}, "buys": [side_buy],
        "reasons": [f"quality ratio {ratio:.3f}: {verdict}"],
    }  # fmt: skip
    gates = [
        {"name": n, "status": "fail" if (verdict == "retire" and n == "quality_ratio") else "pass",
         "evidence": f"{n}: evidence text of about this length for the memo and the report",
         "threshold": 0.95, "observed": ratio, "kind": "criterion", "rule": "frame: rule"}
        for n in ("eval_items", "errors_fine_tune", "errors_buy", "volume", "task_stability",
                  "quality_ratio", "net_savings")
    ]  # fmt: skip
    trend = {
        "metric": "quality ratio", "threshold": 0.95,
        "points": [{"quarter": q, "advantage": 1.2 - k * 0.005} for k, q in enumerate(qs[: i + 1])],
        "slope_per_quarter": -0.005, "fitted_now": ratio,
        "projected_erosion_quarter": qs[-1] if verdict in ("watch", "retire") else None,
        "quarters_to_erosion": 1 if verdict == "watch" else None, "min_points": 3,
        "horizon_quarters": 2, "within_horizon": verdict == "watch",
        "quarters_since_adoption": i + 2, "life_stage": "expected_window",
    }  # fmt: skip
    repro = {"eval_set_hash": "0" * 64, "n_items": 400, "recommended_action": f"{verdict}: act"}
    return {
        "verdict": verdict, "metrics": metrics, "gates": gates, "trend": trend,
        "reproducibility": repro, "memo": "# memo\n" + "text " * 200,
    }  # fmt: skip


def build(url: str, n_workloads: int, n_quarters: int) -> None:
    """Migrate ``url`` and fill it with bulk inserts."""
    from sqlalchemy import insert

    from registry.db import make_engine, upgrade_to_head
    from registry.models import Candidate, Decision, Notice, Workload

    upgrade_to_head(url)
    engine = make_engine(url)
    qs = quarters(n_quarters)
    rng = random.Random(7)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(insert(Workload), [
            {"id": w + 1, "name": f"workload-{w:04d}", "case": "cost_distillation",
             "volume_per_day": 25_000_000, "owner_email": f"owner{w}@example.com",
             "adopted_quarter": qs[0], "created_at": now, "updated_at": now}
            for w in range(n_workloads)
        ])  # fmt: skip
        conn.execute(insert(Candidate), [
            {"workload_id": w + 1, "name": name, "role": role, "runner": "api",
             "route": f"openai/{name}-{w}", "api_base": "http://127.0.0.1:9/v1",
             "api_key_env": "SIM_KEY", "created_at": now, "updated_at": now}
            for w in range(n_workloads)
            for name, role in (("ft", "fine_tune"), ("frontier", "buy"))
        ])  # fmt: skip
        decision_id = 0
        for w in range(n_workloads):
            rows, notices = [], []
            for i, q in enumerate(qs):
                decision_id += 1
                values = decision_values(rng, qs, i)
                rows.append({"id": decision_id, "workload_id": w + 1, "quarter": q,
                             "created_at": now, "updated_at": now, **values})  # fmt: skip
                if values["verdict"] != "keep":
                    notices.append({"dedupe_key": f"{w + 1}:{q}:{values['verdict']}",
                                    "decision_id": decision_id, "workload_id": w + 1,
                                    "quarter": q, "kind": values["verdict"], "status": "pending",
                                    "payload": {"text": "notice"}, "created_at": now})  # fmt: skip
            conn.execute(insert(Decision), rows)
            if notices:
                conn.execute(insert(Notice), notices)
    engine.dispose()


def median_of(runs: int, fn: Callable[[], object]) -> tuple[float, list[float]]:
    """Median wall time of ``runs`` calls of ``fn``, and every time."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def run_command(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _output(argv: list[str], env: dict[str, str], png: Path | None) -> object:
    """What a command prints (or the chart it writes), ``generated_at`` aside."""
    import json

    out = subprocess.run(argv, env=env, check=True, capture_output=True).stdout
    if png is not None:
        return out, png.read_bytes()
    if "--json" in argv or "json" in argv:
        document = json.loads(out)
        document.pop("generated_at")
        return document
    return out


def _row(label: str, what: str, walls: list[float], cpus: list[float] | None) -> str:
    each = ", ".join(f"{t:.3f}" for t in walls)
    cpu = f"{statistics.median(cpus):.3f} s" if cpus else ""
    return f"| {label:<10} | {what:<58} | {statistics.median(walls):7.3f} s | {each} | {cpu} |"


def measure(
    label: str, url: str, runs: int, workload: str, folder: Path, baseline: Path | None
) -> list[str]:
    """Table rows for one database."""
    from registry.db import make_engine, session_factory
    from tasks.report.service import load_history, load_report, report_text

    env = {**os.environ, "RELITIGATE_DATABASE_URL": url, "COLUMNS": "200"}
    cli = [str(ROOT / ".venv/bin/relitigate")]
    codes: list[tuple[str, dict[str, str]]] = [("", env)]
    if baseline is not None:
        path = os.pathsep.join(p for p in (str(baseline), env.get("PYTHONPATH", "")) if p)
        codes.append((" [baseline]", {**env, "PYTHONPATH": path}))
    commands = [
        ("`report --format json` (whole command)", ["report", "--format", "json"]),
        ("`report` terminal table (whole command)", ["report"]),
        (f"`history {workload} --json` (whole command)", ["history", workload, "--json"]),
        (f"`history {workload} --plot h.png` (whole command)",
         ["history", workload, "--plot", str(folder / "h.png")]),
    ]  # fmt: skip
    if baseline is not None:
        for what, args in commands:
            png = folder / "h.png" if "--plot" in args else None
            same = _output([*cli, *args], codes[0][1], png) == _output(
                [*cli, *args], codes[1][1], png
            )
            print(f"{label}: output of {what}: {'the same as' if same else 'DIFFERS from'}"
                  " the baseline's", flush=True)  # fmt: skip
    timings: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for _ in range(runs):  # interleaved: every variant sees the same load
        for what, args in commands:
            for suffix, code_env in codes:
                timing = run_command([*cli, *args], code_env)
                timings.setdefault((what, suffix), []).append(timing)
    rows = []
    for what, _args in commands:
        for suffix, _env in codes:
            got = timings[(what, suffix)]
            rows.append(_row(label, what + suffix, [w for w, _ in got], [c for _, c in got]))
            print(rows[-1], flush=True)

    engine = make_engine(url)
    factory = session_factory(engine)

    def in_process_report() -> None:
        with factory() as session:
            report_text(load_report(session, quarter=None, generated_at="t"), "json")

    def in_process_history() -> None:
        with factory() as session:
            load_history(session, workload, generated_at="t")

    def lean(*argv: str) -> Callable[[], None]:
        def run() -> None:
            import contextlib
            import io

            from relitigate.cli import lean_read

            with contextlib.redirect_stdout(io.StringIO()):
                assert lean_read.run(argv, env) == 0, "the fast path declined"

        return run

    in_process_report()  # warm imports and the connection pool
    lean("report", "--format", "json")()
    for what, fn in (
        ("report: read + build + JSON, in process", in_process_report),
        ("history: read + build, in process", in_process_history),
        ("report: fast path, connect + read + build + JSON, in process",
         lean("report", "--format", "json")),
        ("history: fast path, connect + read + build + JSON, in process",
         lean("history", workload, "--json")),
    ):  # fmt: skip
        _median, times = median_of(runs, fn)
        rows.append(_row(label, what, times, None))
        print(rows[-1], flush=True)
    engine.dispose()
    print(f"load average after {label}: {os.getloadavg()[0]:.1f}", flush=True)
    return rows


def main() -> None:
    """Build both registries, time the commands, print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", type=int, default=1000)
    parser.add_argument("--quarters", type=int, default=40)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--baseline", type=Path, default=None,
        help="a checkout of another revision to time the same commands against",
    )  # fmt: skip
    parser.add_argument(
        "--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        help="admin URL of the PostgreSQL server ('' to skip PostgreSQL)",
    )  # fmt: skip
    args = parser.parse_args()
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), platform.processor(),
    )  # fmt: skip
    print(f"machine: {os.cpu_count()} CPUs, {cpu}, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    workload = f"workload-{args.workloads // 2:04d}"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sqlite_url = f"sqlite:///{folder / 'bench.sqlite3'}"
        start = time.perf_counter()
        build(sqlite_url, args.workloads, args.quarters)
        size = (folder / "bench.sqlite3").stat().st_size / 1e6
        print(f"SQLite registry built in {time.perf_counter() - start:.1f} s ({size:.0f} MB)")
        scale = f"{args.workloads} workloads x {args.quarters} quarters"
        print(f"| database | what ({scale}) | median wall | runs (wall) | median CPU |")
        print("|---|---|---:|---|---:|")
        measure("SQLite", sqlite_url, args.runs, workload, folder, args.baseline)
        if args.postgres:
            postgres(args, workload, folder)


def postgres(args: argparse.Namespace, workload: str, folder: Path) -> None:
    """The same on a fresh PostgreSQL database, dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"relitigate_bench_{os.getpid()}"
    admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(args.postgres).set(database=name).render_as_string(False)
        start = time.perf_counter()
        build(url, args.workloads, args.quarters)
        print(f"PostgreSQL registry built in {time.perf_counter() - start:.1f} s")
        measure("PostgreSQL", url, args.runs, workload, folder, args.baseline)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
