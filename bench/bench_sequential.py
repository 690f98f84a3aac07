"""Sequential evaluation: how many frontier calls it saves, and what it costs in soundness.

Run from the repository root (about a minute on 2 cores)::

    .venv/bin/python bench/bench_sequential.py               # prints the table
    .venv/bin/python bench/bench_sequential.py --write       # also updates BENCHMARKS.md

Each simulated quarter draws paired pass/fail outcomes on ``n`` items for the fine-tune and
every buy (independent items, so a prefix of the seeded order is a random sample), then walks
the waves of :func:`tasks.decision.sequential.wave_plan` (200, 400, ... items) with the
boundaries of :func:`~tasks.decision.sequential.look_levels`: after each wave the erosion
test (``retire``: some buy's p-value under the look's boundary for ``a / k``, Holm's first
step) and the holding test (``keep``: every buy's p-value under the look's boundary for
``a``) run on the items answered so far, through ``tasks.decision.score.lower_p``, the test
``decide`` uses, vectorised over thousands of quarters. A settled verdict stops the calls; the
rest run to the whole set. The same quarter is also decided the fixed way (every item, one
test at 2.5%): "agreement" compares the two verdicts. Every other gate passes, so a
``retire`` here is a quality ``retire``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tasks.decision.score import lower_p
from tasks.decision.sequential import WAVE_ITEMS, Spending, look_levels, wave_plan

ALPHA = 0.05
BAR = 0.95
MIN_ITEMS = 200
CHUNK = 1000
BENCH = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"
HEADING = "## Sequential evaluation"
SPENDING_NAMES = {"obrien_fleming": "O'Brien-Fleming", "pocock": "Pocock"}
_X = np.array([0.0, 0.0, 1.0, 1.0])
_Y = np.array([0.0, 1.0, 0.0, 1.0])
BELOW = np.r_[_X - BAR * _Y, 1.0, -BAR]  # erosion: mean(x) / mean(y) < BAR
ABOVE = np.r_[BAR * _Y - _X, BAR, -1.0]  # holding: mean(x) / mean(y) > BAR


@dataclass(frozen=True)
class Scenario:
    """One row: the true quality ratio, the buys' pass rate, items, buys, correlation."""

    kind: str  # "clear", "bar", "borderline"
    ratio: float
    buy_rate: float
    n: int
    buys: int = 1
    correlated: bool = False

    def label(self) -> str:
        extra = (f", {self.buys} buys" if self.buys > 1 else "") + (
            ", correlated" if self.correlated else ""
        )
        return f"ratio {self.ratio:.2f}, buy {self.buy_rate:.2f}, n = {self.n}{extra}"


def scenarios() -> list[Scenario]:
    """The table's rows."""
    rows = []
    for n in (1000, 2000):
        for buy in (0.95, 0.85):
            for ratio in (0.80, 0.85, 0.88, 1.05, 1.10):
                if buy * ratio <= 1.0:
                    rows.append(Scenario("clear", ratio, buy, n))
    rows += [
        Scenario("clear", 0.88, 0.95, 1000, correlated=True),
        Scenario("clear", 1.05, 0.85, 1000, correlated=True),
        Scenario("clear", 0.88, 0.95, 1000, buys=2),
        Scenario("clear", 1.05, 0.85, 1000, buys=2),
    ]
    for n in (1000, 2000):
        for buy in (0.95, 0.85):
            rows.append(Scenario("bar", BAR, buy, n))
    rows += [
        Scenario("bar", BAR, 0.95, 1000, buys=2),
        Scenario("bar", BAR, 0.95, 1000, correlated=True),
        Scenario("bar", BAR, 0.95, 1000, buys=3),
    ]
    for ratio in (0.91, 0.93, 0.98, 1.00):
        rows.append(Scenario("borderline", ratio, 0.95, 1000))
    rows.append(Scenario("borderline", 1.00, 0.85, 2000))
    return rows


def _draw(rng: np.random.Generator, s: Scenario, reps: int) -> tuple[np.ndarray, list[np.ndarray]]:
    shape = (reps, s.n)
    shared = rng.random(shape)

    def outcome(rate: float) -> np.ndarray:
        u = rng.random(shape)
        if s.correlated:
            u = np.where(rng.random(shape) < 0.5, shared, u)
        return u < rate

    return outcome(s.ratio * s.buy_rate), [outcome(s.buy_rate) for _ in range(s.buys)]


def _p(values: np.ndarray, ft: np.ndarray, buy: np.ndarray, n: int) -> np.ndarray:
    code = 2 * ft[:, :n].astype(np.int8) + buy[:, :n].astype(np.int8)
    counts = np.stack([(code == c).sum(axis=1) for c in range(4)], axis=1).astype(float)
    counts = np.concatenate([counts, np.zeros((code.shape[0], 2))], axis=1)
    return lower_p(np.broadcast_to(values, counts.shape), counts, binary=True)


def _verdict(
    ft: np.ndarray, buys: list[np.ndarray], n: int, erosion: float, holding: float
) -> np.ndarray:
    """0 keep, 1 watch (not settled), 2 retire on the first ``n`` items at these levels."""
    eroded = np.stack([_p(BELOW, ft, b, n) for b in buys], axis=1)
    holds = np.stack([_p(ABOVE, ft, b, n) < holding for b in buys], axis=1)
    retire = eroded.min(axis=1) * len(buys) < erosion  # Holm's smallest adjusted p-value
    return np.where(retire, 2, np.where(holds.all(axis=1), 0, 1))


def simulate(
    s: Scenario, reps: int, seed: int, spending: Spending, wave_items: int = WAVE_ITEMS
) -> dict[str, float]:
    """Shares over ``reps`` quarters: verdicts, calls used, agreement with the fixed test."""
    rng = np.random.default_rng(seed)
    plan = wave_plan(s.n, min_items=MIN_ITEMS, seed=0, wave_items=wave_items)
    levels = [look_levels(plan, w, alpha=ALPHA, buys=s.buys, spending=spending) for w in plan.looks]
    tally = {"retire": 0.0, "keep": 0.0, "watch": 0.0, "used": 0.0, "used2": 0.0, "agree": 0.0}
    tally |= {"fixed_retire": 0.0, "stopped": 0.0}
    for start in range(0, reps, CHUNK):
        m = min(CHUNK, reps - start)
        ft, buys = _draw(rng, s, m)
        final = np.full(m, -1)
        used = np.full(m, s.n)
        for look in levels:
            open_ = final < 0
            if not open_.any():
                break
            rows = np.flatnonzero(open_)
            v = _verdict(ft[rows], [b[rows] for b in buys], look.items, look.erosion, look.holding)
            settle = (v != 1) | look.final
            final[rows[settle]] = v[settle]
            used[rows[settle]] = look.items
        fixed = _verdict(ft, buys, s.n, ALPHA / 2, ALPHA / 2)
        share = used / s.n
        tally["retire"] += np.count_nonzero(final == 2)
        tally["keep"] += np.count_nonzero(final == 0)
        tally["watch"] += np.count_nonzero(final == 1)
        tally["used"] += share.sum()
        tally["used2"] += (share**2).sum()
        tally["agree"] += np.count_nonzero(final == fixed)
        tally["fixed_retire"] += np.count_nonzero(fixed == 2)
        tally["stopped"] += np.count_nonzero(used < s.n)
    out = {k: v / reps for k, v in tally.items()}
    out["used_se"] = float(np.sqrt(max(out.pop("used2") - out["used"] ** 2, 0.0) / reps))
    out["reps"] = reps
    return out


def _run(job: tuple[int, Scenario, int, Spending, int]) -> tuple[int, dict[str, float]]:
    index, s, reps, spending, wave_items = job
    reps = reps * 5 if s.kind == "bar" else reps  # the false-retire rate needs more quarters
    return index, simulate(s, reps, seed=1000 + index, spending=spending, wave_items=wave_items)


def _se(p: float, reps: float) -> float:
    return float(np.sqrt(p * (1 - p) / reps))


def table(results: list[tuple[Scenario, dict[str, float]]]) -> list[str]:
    """The markdown table, one row per scenario."""
    lines = [
        "| scenario | kind | frontier calls used | stopped early | retire | keep | agrees with "
        "the full-set verdict | full-set retire |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s, r in results:
        lines.append(
            f"| {s.label()} | {s.kind} | {100 * r['used']:.1f}% ± {100 * r['used_se']:.1f} | "
            f"{100 * r['stopped']:.1f}% | {100 * r['retire']:.2f}% ± "
            f"{100 * _se(r['retire'], r['reps']):.2f} | {100 * r['keep']:.1f}% | "
            f"{100 * r['agree']:.2f}% ± {100 * _se(r['agree'], r['reps']):.2f} | "
            f"{100 * r['fixed_retire']:.2f}% |"
        )
    return lines


def summary(results: list[tuple[Scenario, dict[str, float]]]) -> list[str]:
    """The targets, each with its measured figure."""

    def of(kind: str) -> list[dict[str, float]]:
        return [r for s, r in results if s.kind == kind]

    clear, bar, border = of("clear"), of("bar"), of("borderline")
    used = float(np.mean([r["used"] for r in clear]))
    used_se = float(np.sqrt(sum(r["used_se"] ** 2 for r in clear))) / len(clear)
    agree = float(np.mean([r["agree"] for r in clear]))
    agree_se = float(np.sqrt(sum(_se(r["agree"], r["reps"]) ** 2 for r in clear))) / len(clear)
    worst = max(bar, key=lambda r: r["retire"])
    worst_bar = worst["retire"]
    max_fixed = max(r["fixed_retire"] for r in bar)
    border_used = float(np.mean([r["used"] for r in border]))
    agree_all = float(np.mean([r["agree"] for _, r in results]))
    return [
        f"- Clear cases ({len(clear)} scenarios): frontier calls used, on average "
        f"**{100 * used:.1f}%** ± {100 * used_se:.2f} of a full run's (target: at most 40%).",
        f"- Clear cases: the same verdict as the full set in **{100 * agree:.2f}%** ± "
        f"{100 * agree_se:.2f} of quarters (target: at least 99%); over every scenario, "
        f"borderline ones included: {100 * agree_all:.2f}%.",
        f"- False `retire` at the bar: at most **{100 * worst_bar:.2f}%** ± "
        f"{100 * _se(worst_bar, worst['reps']):.2f} in the worst of {len(bar)} scenarios "
        f"(target: at most 2.5%); the fixed test on the same quarters reads "
        f"{100 * worst['fixed_retire']:.2f}% there, and {100 * max_fixed:.2f}% at its worst: "
        "the looks add nothing measurable to the fixed test's own rate.",
        f"- Borderline cases ({len(border)} scenarios): frontier calls used, on average "
        f"**{100 * border_used:.1f}%** of a full run's.",
    ]


def write_section(text: str) -> None:
    """Replace (or append) this section of BENCHMARKS.md, keeping the rest."""
    body = BENCH.read_text(encoding="utf-8")
    start = body.find(HEADING)
    if start == -1:
        body = body.rstrip() + "\n\n" + text
    else:
        end = body.find("\n## ", start + len(HEADING))
        body = body[:start] + text + ("" if end == -1 else body[end:])
    BENCH.write_text(body.rstrip() + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=4000, help="quarters per scenario")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--spending", choices=["obrien_fleming", "pocock"], default="obrien_fleming"
    )
    parser.add_argument("--wave-items", type=int, default=WAVE_ITEMS, help="items per wave")
    parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    args = parser.parse_args()
    rows = scenarios()
    start = time.perf_counter()
    out: dict[int, dict[str, float]] = {}
    jobs = [(i, s, args.reps, args.spending, args.wave_items) for i, s in enumerate(rows)]
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        for index, result in pool.map(_run, jobs):
            out[index] = result
    elapsed = time.perf_counter() - start
    results = [(s, out[i]) for i, s in enumerate(rows)]
    lines, head = table(results), summary(results)
    print("\n".join([*head, "", *lines]))
    print(f"{len(rows)} scenarios x {args.reps} quarters in {elapsed:.0f} s")
    if args.write:
        section = [
            HEADING,
            "",
            "`bench/bench_sequential.py`: a Monte Carlo of sequential evaluation "
            '(docs/statistics.md, "Sequential evaluation") on simulated paired pass/fail '
            f"outcomes, {SPENDING_NAMES[args.spending]}-type alpha spending; the first wave "
            f"brings the set to {MIN_ITEMS} items (no look before), each next one adds "
            f"{args.wave_items} (n = 2000: 200, at most 10 waves). Each row is "
            f"{args.reps:,} simulated quarters ({5 * args.reps:,} at the bar); ± is the Monte "
            'Carlo standard error. "Frontier calls used" is the '
            'share of a full run\'s buy calls; "agrees" compares the verdict with the fixed '
            'test on the whole set (2.5%, no looks); "full-set retire" is that fixed test\'s '
            "retire share.",
            "",
            f"    .venv/bin/python bench/bench_sequential.py --reps {args.reps} --write"
            + (f" --wave-items {args.wave_items}" if args.wave_items != WAVE_ITEMS else ""),
            "",
            f"Machine: `nproc` = {os.cpu_count()}, {args.workers} worker processes, numpy "
            f"{np.__version__}; {len(rows)} scenarios in {elapsed:.0f} s on a shared machine.",
            "",
            *head,
            "",
            *lines,
            "",
        ]
        write_section("\n".join(section))


if __name__ == "__main__":
    main()
