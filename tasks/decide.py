"""The decide task: read a quarter's runs, decide, record the decision and its notice.

Thin: the judgement is :func:`tasks.decision.decide`; this task loads its inputs from the
registry, writes the memo and chart files, and stores the decision together with the notice
it calls for in one transaction, so a decision never exists without its promised notice.
"""

from __future__ import annotations

import functools
import math
import zlib
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import anyio
from prefect import task
from prefect.cache_policies import NONE
from sqlalchemy.orm import Session

from registry.decisions import DecisionWrite, get_decision, write_decision
from registry.models import Decision
from registry.notices import enqueue_notice
from registry.queries import WorkloadBundle, load_workload
from registry.runs import latest_attempt
from tasks import mapping
from tasks.context import RegistryContext
from tasks.decide_inputs import QuarterRuns, previous_decision, quarter_runs
from tasks.decision import decide
from tasks.decision.chart import outcome_chart_png
from tasks.decision.deprecations import with_deprecations
from tasks.decision.outcome import DecisionOutcome
from tasks.deprecation_inputs import compared_workload
from tasks.measured.facts import apply_readings, measured_json, record_readings, take_readings
from tasks.notify import OutboxEntry, outbox_entry
from tasks.waves import sequential_inputs


@dataclass(frozen=True)
class DecisionSummary:
    """One recorded decision, as the flows report it."""

    workload: str
    quarter: str
    verdict: str
    advantage: float | None
    reasons: list[str]
    notice_kind: str | None
    memo_path: str | None
    reused: bool
    """True when the quarter was already decided and nothing was recomputed."""
    attempt: int = 1
    """The benchmark attempt the decision was taken on."""
    revision: int = 1
    """1 for the quarter's first decision, + 1 each time it was replaced."""
    retry_passes: dict[str, int] = field(default_factory=dict)
    """Retry passes each candidate's run had had when the decision was taken."""
    sequential: dict[str, Any] | None = None
    """What sequential evaluation used (waves, stop, items per side, frontier spend saved);
    None: the decision rests on the whole eval set without interim looks."""

    def to_json(self) -> dict[str, Any]:
        """Plain data (``relitigate run --json``)."""
        return asdict(self)


@dataclass(frozen=True)
class Replacing:
    """Whether a stored decision of the quarter gives way to this one."""

    force: bool = False
    """Replace whatever is stored."""
    supersedes: int | None = None
    """Replace the stored decision if it is still at this revision (no other process
    replaced it first)."""
    because: str = "force"
    """Why, kept with the replaced decision."""


def existing_decision(ctx: RegistryContext, workload: str, quarter: str) -> DecisionSummary | None:
    """The recorded decision for (workload, quarter), if the quarter is already decided."""
    with ctx.sessions.begin() as session:
        bundle = load_workload(session, workload, with_items=False)
        row = get_decision(session, bundle.workload.id, quarter)
        return None if row is None else _summary_of(workload, row, reused=True)


def next_attempt(ctx: RegistryContext, workload: str, quarter: str) -> int:
    """The attempt a fresh re-benchmark of the quarter gets (one past the newest)."""
    with ctx.sessions.begin() as session:
        bundle = load_workload(session, workload, with_items=False)
        return 1 + _newest_attempt(session, bundle, quarter)


def _newest_attempt(session: Session, bundle: WorkloadBundle, quarter: str) -> int:
    return latest_attempt(
        session,
        candidate_ids=[c.id for c in bundle.candidates],
        eval_set_version_id=bundle.version.id,
        quarter=quarter,
    )


@task(name="decide", task_run_name="decide {workload} ({quarter})", cache_policy=NONE)
async def decide_task(
    ctx: RegistryContext,
    workload: str,
    quarter: str,
    *,
    replacing: Replacing = Replacing(),
    attempt: int | None = None,
    today: date | None = None,
    flow_run_url: str | None = None,
) -> DecisionSummary:
    """Decide ``workload`` for ``quarter`` from its recorded runs and record the outcome.

    The work (registry reads, score tests, chart) runs in a worker thread so other workloads'
    benchmarks keep their event loop.
    """
    return await anyio.to_thread.run_sync(
        functools.partial(
            record_decision, ctx, workload, quarter, replacing=replacing, attempt=attempt,
            today=today, flow_run_url=flow_run_url,
        )
    )  # fmt: skip


def record_decision(
    ctx: RegistryContext,
    workload: str,
    quarter: str,
    *,
    replacing: Replacing = Replacing(),
    attempt: int | None = None,
    today: date | None = None,
    flow_run_url: str | None = None,
) -> DecisionSummary:
    """The decide task's body, callable without Prefect.

    Decides from the runs of ``attempt`` (default the newest), on ``today`` (default the
    current date; the flow passes its plan's day). A buy that a deprecation takes out of the
    comparison needs no run: the plan did not benchmark it. A stored decision is returned
    as it is unless ``replacing`` lets this one replace it. When another process records the
    quarter first, its decision is returned (``reused``) and this one writes no memo and
    enqueues no notice. A workload that reads its volume or a production sample from
    production has them read first, outside the transaction (:mod:`tasks.measured.facts`).
    """
    readings = take_readings(
        ctx, workload, quarter, force=replacing.force, supersedes=replacing.supersedes
    )
    with ctx.sessions.begin() as session:
        bundle = load_workload(session, workload, with_items=False)
        stored = get_decision(session, bundle.workload.id, quarter)
        if stored is not None and not replacing.force and stored.revision != replacing.supersedes:
            return _summary_of(workload, stored, reused=True)
        today = today or date.today()
        compared = compared_workload(session, bundle, today=today)
        bundle = compared.bundle  # the buys that stay in the comparison
        attempt = attempt or max(1, _newest_attempt(session, bundle, quarter))
        runs = quarter_runs(session, bundle, quarter, attempt)
        if readings is not None:
            runs = apply_readings(session, bundle, runs, readings)
        inputs = sequential_inputs(session, bundle, runs, attempt)  # a stop's items, levels
        outcome = decide(inputs, rng_seed=zlib.crc32(quarter.encode()), today=today)
        outcome = with_deprecations(outcome, compared.review)
        retry_passes = {c.name: runs.runs[c.id].retry_passes for c in bundle.candidates}
        write = _write(session, bundle, outcome, runs, attempt=attempt,
                       retry_passes=retry_passes, replacing=replacing)  # fmt: skip
        if not write.written:  # another process decided first: its decision stands
            return _summary_of(workload, write.decision, reused=True)
        if readings is not None:
            record_readings(session, bundle.workload.id, quarter, readings, outcome.drift)
        memo_path = _write_memo(ctx.memo_dir, outcome)
        entry = _enqueue(ctx, session, bundle, outcome, write, memo_path, flow_run_url)
        return DecisionSummary(
            workload=workload, quarter=quarter, verdict=outcome.verdict,
            advantage=_finite(outcome.advantage), reasons=list(outcome.reasons),
            notice_kind=None if entry is None else entry.kind, memo_path=str(memo_path),
            reused=False, attempt=attempt, revision=write.decision.revision,
            retry_passes=retry_passes,
            sequential=None if outcome.sequential is None else outcome.sequential.to_json(),
        )  # fmt: skip


def _write(
    session: Session,
    bundle: WorkloadBundle,
    outcome: DecisionOutcome,
    runs: QuarterRuns,
    *,
    attempt: int,
    retry_passes: dict[str, int],
    replacing: Replacing,
) -> DecisionWrite:
    return write_decision(
        session,
        workload_id=bundle.workload.id,
        quarter=outcome.quarter,
        verdict=outcome.verdict,
        metrics={
            **outcome.metrics(),
            "buys": outcome.buys_json(),
            "reasons": list(outcome.reasons),
            **_measured(outcome),
        },
        gates=outcome.gates_json(),
        trend=outcome.trend_json(),
        reproducibility={
            **dict(outcome.reproducibility),
            "recommended_action": outcome.recommended_action,
            "attempt": attempt,
            "retry_passes": retry_passes,
        },
        memo=outcome.memo,
        next_review=_next_review(outcome),
        fine_tune_run_id=runs.runs[bundle.fine_tune.id].id,
        buy_run_id=runs.run_id_of(bundle, outcome.buy.name),
        attempt=attempt,
        replace=replacing.force,
        supersedes=replacing.supersedes,
        because=replacing.because,
    )


def _enqueue(
    ctx: RegistryContext,
    session: Session,
    bundle: WorkloadBundle,
    outcome: DecisionOutcome,
    write: DecisionWrite,
    memo_path: Path,
    flow_run_url: str | None,
) -> OutboxEntry | None:
    """Enqueue the notice the decision calls for, in the decision's transaction."""
    facts = mapping.notice_facts(
        outcome, bundle.workload, memo_url=memo_path.resolve().as_uri(), flow_run_url=flow_run_url
    )
    entry = outbox_entry(
        facts,
        previous=previous_decision(session, bundle, outcome.quarter),
        platform_channel=ctx.settings.slack_platform_channel,
    )
    if entry is not None:
        enqueue_notice(
            session,
            decision_id=write.decision.id,
            workload_id=bundle.workload.id,
            quarter=outcome.quarter,
            kind=entry.kind,
            destination=entry.destination,
            payload=dict(entry.payload),
        )
    return entry


def _write_memo(memo_dir: Path, outcome: DecisionOutcome) -> Path:
    folder = memo_dir / outcome.workload / outcome.quarter
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "trend.png").write_bytes(outcome_chart_png(outcome))
    path = folder / "memo.md"
    path.write_text(outcome.memo, encoding="utf-8")
    return path


def _next_review(outcome: DecisionOutcome) -> date | None:
    value = outcome.reproducibility.get("next_review_date")
    if isinstance(value, date):
        return value
    return date.fromisoformat(value) if isinstance(value, str) else None


def _measured(outcome: DecisionOutcome) -> dict[str, Any]:
    measured = measured_json(outcome.volume, outcome.drift)
    return {"measured": measured} if measured else {}


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _summary_of(workload: str, row: Decision, *, reused: bool) -> DecisionSummary:
    metrics = row.metrics or {}
    key = "ratio" if row.workload.case.value == "cost_distillation" else "difference"
    advantage = (metrics.get(key) or {}).get("value")
    passes = (row.reproducibility or {}).get("retry_passes") or {}
    return DecisionSummary(
        workload=workload,
        quarter=row.quarter,
        verdict=row.verdict.value,
        advantage=advantage,
        reasons=list(metrics.get("reasons", [])),
        notice_kind=None,
        memo_path=None,
        reused=reused,
        attempt=row.attempt,
        revision=row.revision,
        retry_passes={str(k): int(v) for k, v in passes.items()},
        sequential=metrics.get("sequential"),
    )
