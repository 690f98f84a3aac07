"""Sequential evaluation's I/O: open a quarter's waves, restrict a benchmark to a wave, take
the look after it, and hand the decide task the items and levels the decision rests on.

Thin: the rules are :mod:`tasks.decision.sequential` (waves, seeded order, boundaries, when
to stop); this module reads the registry, calls them and records every look
(:mod:`registry.waves`). A wave's items are a function of the seed stored in the registry and
the wave's number, so a re-run after a kill calls the same items and the engine skips those
already answered: nothing is paid twice.
"""

from __future__ import annotations

import dataclasses
import functools
import zlib
from dataclasses import dataclass
from datetime import date
from typing import Any

import anyio
from prefect import task
from prefect.cache_policies import NONE
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.errors import NotFoundError
from registry.models import ItemResult, SequentialEvaluation
from registry.queries import WorkloadBundle, load_workload
from registry.runs import latest_attempt
from registry.waves import get_sequential, open_sequential, record_look
from tasks import mapping
from tasks.benchmark_job import BenchJob
from tasks.context import RegistryContext
from tasks.decide_inputs import QuarterRuns, quarter_runs
from tasks.decision import decide
from tasks.decision.sequential import (
    LookLevels,
    SequentialUse,
    Spending,
    WavePlan,
    item_order,
    look_levels,
    next_step,
    saved_usd,
    wave_keys,
    wave_plan,
)
from tasks.decision.sequential_inputs import at_look
from tasks.decision.types import DecisionInputs
from tasks.deprecation_inputs import compared_workload

SPENDING: Spending = "obrien_fleming"


@dataclass(frozen=True)
class WaveSetup:
    """One workload's waves for a quarter and attempt, as the flow walks them."""

    workload: str
    quarter: str
    attempt: int
    evaluation_id: int
    seed: int
    waves: int
    sizes: tuple[int, ...]


@dataclass(frozen=True)
class LookResult:
    """What the look after a wave decided."""

    wave: int
    step: str
    """``continue``, ``retire``, ``keep`` (settled: stop) or ``end`` (whole set answered)."""
    reason: str
    verdict: str | None
    """The verdict on the wave's items; None before the first look."""


def _plan(row: SequentialEvaluation, min_items: int) -> WavePlan:
    return WavePlan(row.seed, row.items_total, tuple(int(n) for n in row.wave_sizes), min_items)


def _seed(workload: str, quarter: str, attempt: int, content_hash: str) -> int:
    return zlib.crc32(f"{workload}|{quarter}|{attempt}|{content_hash}".encode()) & 0x7FFFFFFF


def setup_waves(
    ctx: RegistryContext, workload: str, quarter: str, attempt: int | None
) -> WaveSetup | None:
    """Open (or read back) the quarter's waves; None when the workload turned sequential
    evaluation off (``thresholds: {sequential: false}``) or its eval set is one wave (under
    1.5 waves of items): then every item is called and decided with the fixed test."""
    with ctx.sessions.begin() as session:
        bundle = load_workload(session, workload)
        limits = mapping.policy(bundle.workload).thresholds
        if not limits.sequential:
            return None
        attempt = attempt or max(1, _newest(session, bundle, quarter))
        seed = _seed(workload, quarter, attempt, bundle.version.content_hash)
        plan = wave_plan(len(bundle.items), min_items=limits.min_items, seed=seed)
        if plan.waves == 1:
            return None
        row = open_sequential(
            session, workload_id=bundle.workload.id, quarter=quarter, attempt=attempt,
            seed=seed, spending=SPENDING, wave_sizes=plan.sizes, items_total=plan.total,
        )  # fmt: skip
        return WaveSetup(workload, quarter, attempt, row.id, row.seed, len(row.wave_sizes),
                         tuple(int(n) for n in row.wave_sizes))  # fmt: skip


def _newest(session: Session, bundle: WorkloadBundle, quarter: str) -> int:
    return latest_attempt(
        session, candidate_ids=[c.id for c in bundle.candidates],
        eval_set_version_id=bundle.version.id, quarter=quarter,
    )  # fmt: skip


def wave_job(ctx: RegistryContext, job: BenchJob, wave: int) -> BenchJob:
    """``job`` cut to the items answered once ``wave`` is done (waves 1..``wave``, in the
    stored seed's order); the engine skips the ones already answered.

    Raises:
        NotFoundError: the quarter's waves were never opened (:func:`setup_waves`).
    """
    with ctx.sessions.begin() as session:
        bundle = load_workload(session, job.workload, with_items=False)
        row = get_sequential(
            session, workload_id=bundle.workload.id, quarter=job.quarter, attempt=job.attempt
        )
        if row is None:
            raise NotFoundError(
                f"{job.label}: no sequential evaluation to take wave {wave} from; the "
                "workload flow opens it (`relitigate run`)"
            )
        plan = _plan(row, 1)
    keys = set(wave_keys(item_order([i.key for i in job.items], plan.seed), plan, wave))
    return dataclasses.replace(job, items=[i for i in job.items if i.key in keys])


@task(name="look", task_run_name="look {setup.workload} wave {wave}", cache_policy=NONE)
async def look_task(
    ctx: RegistryContext, setup: WaveSetup, wave: int, *, today: date | None = None
) -> LookResult:
    """Take the look after ``wave`` and record it (see :func:`take_look`)."""
    look = functools.partial(take_look, ctx, setup, wave, today=today)
    return await anyio.to_thread.run_sync(look)


def take_look(
    ctx: RegistryContext, setup: WaveSetup, wave: int, *, today: date | None = None
) -> LookResult:
    """Decide on the items of waves 1..``wave`` at that look's levels; record the look, what
    the buys were called on so far and the spend a stop saves. The buys are those compared on
    ``today`` (a buy a deprecation takes out of the comparison is not benchmarked)."""
    today = today or date.today()
    with ctx.sessions.begin() as session:
        bundle = load_workload(session, setup.workload, with_items=False)
        bundle = compared_workload(session, bundle, today=today).bundle
        runs = quarter_runs(session, bundle, setup.quarter, setup.attempt)
        row = session.get(SequentialEvaluation, setup.evaluation_id)
        if row is None:
            raise NotFoundError(f"no sequential evaluation with id {setup.evaluation_id}")
        limits = runs.inputs.policy.thresholds
        plan = _plan(row, limits.min_items)
        keys = wave_keys(item_order(runs.inputs.fine_tune.item_keys, plan.seed), plan, wave)
        verdict: str | None = None
        failed: tuple[str, ...] = ()
        levels: LookLevels | None = None
        if wave in plan.looks:
            levels = _levels(plan, wave, runs.inputs)
            outcome = decide(at_look(runs.inputs, keys, levels), rng_seed=0, today=today)
            verdict = outcome.verdict
            failed = tuple(
                g.name for g in outcome.gates if g.kind == "criterion" and g.status == "fail"
            )
        step = next_step(plan, wave, verdict=verdict or "", failed=failed)
        state = {"continue": "running", "end": "ended"}.get(step.step, "stopped")
        look: dict[str, Any] = {
            "wave": wave, "items": len(keys), "verdict": verdict, "step": step.step,
            "reason": step.reason, "failed": list(failed),
            "erosion_level": None if levels is None else levels.erosion,
            "holding_level": None if levels is None else levels.holding,
        }  # fmt: skip
        record_look(session, row.id, look=look, state=state,
                    usage=_usage(session, bundle, runs, plan, len(keys)))  # fmt: skip
    return LookResult(wave, step.step, step.reason, verdict)


def _levels(plan: WavePlan, wave: int, inputs: DecisionInputs) -> LookLevels:
    alpha = inputs.policy.thresholds.significance_alpha
    return look_levels(plan, wave, alpha=alpha, buys=len(inputs.buys), spending=SPENDING)


def _usage(
    session: Session, bundle: WorkloadBundle, runs: QuarterRuns, plan: WavePlan, used: int
) -> dict[str, Any]:
    """Items each buy was called on, their spend, and the spend a full run would add."""
    buys = [c for c in bundle.candidates if c.id != bundle.fine_tune.id]
    run_ids = {runs.runs[c.id].id: c.name for c in buys}
    counted = session.execute(
        select(ItemResult.run_id, func.count(), func.coalesce(func.sum(ItemResult.cost_usd), 0.0))
        .where(ItemResult.run_id.in_(list(run_ids)))
        .group_by(ItemResult.run_id)
    ).all()
    called = {name: 0 for name in run_ids.values()}
    spend = {name: 0.0 for name in run_ids.values()}
    for run_id, count, cost in counted:
        called[run_ids[run_id]], spend[run_ids[run_id]] = int(count), float(cost)
    saved = sum(saved_usd(spend[n], called[n], plan.total - called[n]) for n in called)
    return {"items_used": used, "buy_items": called, "buy_spend_usd": sum(spend.values()),
            "saved_usd": saved}  # fmt: skip


def sequential_inputs(
    session: Session, bundle: WorkloadBundle, runs: QuarterRuns, attempt: int
) -> DecisionInputs:
    """The decide task's inputs: cut to the items of the last look taken, at its levels, with
    what the waves used; the whole set as it is when the quarter had no sequential looks."""
    inputs = runs.inputs
    row = get_sequential(
        session, workload_id=bundle.workload.id, quarter=inputs.quarter, attempt=attempt
    )
    limits = inputs.policy.thresholds
    if row is None or not row.looks or not limits.sequential:
        return inputs
    plan = _plan(row, limits.min_items)
    wave = int(row.looks[-1]["wave"])
    if wave not in plan.looks:
        return inputs
    levels = _levels(plan, wave, inputs)
    keys = wave_keys(item_order(inputs.fine_tune.item_keys, plan.seed), plan, wave)
    use = SequentialUse(
        seed=row.seed, spending=row.spending, waves_planned=plan.waves,
        waves_done=row.waves_done, stopped_at_wave=row.stopped_at_wave,
        reason=row.reason or "", items_total=plan.total, items_used=len(keys),
        fine_tune_items=inputs.fine_tune.n_items,
        buy_items=tuple((str(k), int(v)) for k, v in (row.buy_items or {}).items()),
        buy_spend_usd=row.buy_spend_usd, saved_usd=row.saved_usd,
        erosion_level=levels.erosion, holding_level=levels.holding,
    )  # fmt: skip
    return at_look(inputs, keys, levels, use)
