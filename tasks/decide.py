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
from sqlalchemy.orm import Session

from registry.decisions import decision_history, get_decision, write_decision
from registry.errors import NotFoundError
from registry.models import Decision, Run
from registry.notices import enqueue_notice
from registry.queries import WorkloadBundle, load_workload
from registry.runs import latest_attempt, load_run_results, runs_for
from tasks import mapping
from tasks.decision import decide
from tasks.decision.chart import outcome_chart_png
from tasks.decision.outcome import DecisionOutcome
from tasks.decision.types import DecisionInputs, Judge
from tasks.notify import PriorDecision, outbox_entry
from tasks.runtime import memo_dir, registry_sessions, settings


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

    def to_json(self) -> dict[str, Any]:
        """Plain data for artifacts and the CLI."""
        return asdict(self)


def existing_decision(
    workload: str, quarter: str, database_url: str | None = None
) -> DecisionSummary | None:
    """The recorded decision for (workload, quarter), if the quarter is already decided."""
    with registry_sessions(database_url).begin() as session:
        bundle = load_workload(session, workload, with_items=False)
        row = get_decision(session, bundle.workload.id, quarter)
        return None if row is None else _summary_of(workload, row, reused=True)


def next_attempt(workload: str, quarter: str, database_url: str | None = None) -> int:
    """The attempt a fresh re-benchmark of the quarter gets (one past the newest)."""
    with registry_sessions(database_url).begin() as session:
        bundle = load_workload(session, workload, with_items=False)
        return 1 + latest_attempt(
            session,
            candidate_ids=[c.id for c in bundle.candidates],
            eval_set_version_id=bundle.version.id,
            quarter=quarter,
        )


@task(name="decide", task_run_name="decide {workload} ({quarter})")
async def decide_task(
    workload: str,
    quarter: str,
    *,
    force: bool = False,
    today: date | None = None,
    flow_run_url: str | None = None,
    attempt: int | None = None,
    supersedes: int | None = None,
    because: str = "force",
) -> DecisionSummary:
    """Decide ``workload`` for ``quarter`` from its recorded runs and record the outcome.

    The work (registry reads, bootstrap, chart) runs in a worker thread so other workloads'
    benchmarks keep their event loop.
    """
    return await anyio.to_thread.run_sync(
        functools.partial(
            record_decision, workload, quarter, force=force, today=today,
            flow_run_url=flow_run_url, attempt=attempt, supersedes=supersedes, because=because,
        )
    )  # fmt: skip


def record_decision(
    workload: str,
    quarter: str,
    *,
    force: bool = False,
    today: date | None = None,
    flow_run_url: str | None = None,
    database_url: str | None = None,
    attempt: int | None = None,
    supersedes: int | None = None,
    because: str = "force",
) -> DecisionSummary:
    """The decide task's body, callable without Prefect.

    Decides from the runs of ``attempt`` (default the newest). A stored decision is returned
    as it is unless ``force`` (replace it) or it is at revision ``supersedes`` (replace it if
    no other process did first). When another process records the quarter first, its
    decision is returned (``reused``) and this one writes no memo and enqueues no notice.
    """
    with registry_sessions(database_url).begin() as session:
        bundle = load_workload(session, workload, with_items=False)
        stored = get_decision(session, bundle.workload.id, quarter)
        if stored is not None and not force and stored.revision != supersedes:
            return _summary_of(workload, stored, reused=True)
        if attempt is None:
            attempt = max(1, latest_attempt(
                session, candidate_ids=[c.id for c in bundle.candidates],
                eval_set_version_id=bundle.version.id, quarter=quarter,
            ))  # fmt: skip
        inputs, runs = _inputs(session, bundle, quarter, attempt)
        outcome = decide(
            inputs,
            rng_seed=zlib.crc32(quarter.encode()),
            today=today or date.today(),
        )
        retry_passes = {c.name: runs[c.id].retry_passes for c in bundle.candidates}
        write = write_decision(
            session,
            workload_id=bundle.workload.id,
            quarter=quarter,
            verdict=outcome.verdict,
            metrics={
                **outcome.metrics(),
                "buys": outcome.buys_json(),
                "reasons": list(outcome.reasons),
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
            fine_tune_run_id=runs[bundle.fine_tune.id].id,
            buy_run_id=_run_id_of(bundle, runs, outcome.buy.name),
            attempt=attempt,
            replace=force,
            supersedes=supersedes,
            because=because,
        )
        if not write.written:  # another process decided first: its decision stands
            return _summary_of(workload, write.decision, reused=True)
        memo_path = _write_memo(outcome)
        entry = outbox_entry(
            mapping.notice_facts(
                outcome,
                bundle.workload,
                memo_url=memo_path.resolve().as_uri() if memo_path else None,
                flow_run_url=flow_run_url,
            ),
            previous=_previous(session, bundle, quarter),
            platform_channel=settings().slack_platform_channel,
        )
        if entry is not None:
            enqueue_notice(
                session,
                decision_id=write.decision.id,
                workload_id=bundle.workload.id,
                quarter=quarter,
                kind=entry.kind,
                destination=entry.destination,
                payload=dict(entry.payload),
            )
        return DecisionSummary(
            workload=workload,
            quarter=quarter,
            verdict=outcome.verdict,
            advantage=_finite(outcome.advantage),
            reasons=list(outcome.reasons),
            notice_kind=None if entry is None else entry.kind,
            memo_path=None if memo_path is None else str(memo_path),
            reused=False,
            attempt=attempt,
            revision=write.decision.revision,
            retry_passes=retry_passes,
        )


def _run_id_of(bundle: WorkloadBundle, runs: dict[int, Run], name: str) -> int | None:
    for candidate in bundle.candidates:
        if candidate.name == name:
            return runs[candidate.id].id
    return None


def _inputs(
    session: Session, bundle: WorkloadBundle, quarter: str, attempt: int
) -> tuple[DecisionInputs, dict[int, Run]]:
    candidates = bundle.candidates
    runs: dict[int, Run] = {
        run.candidate_id: run
        for run in runs_for(
            session, candidate_ids=[c.id for c in candidates], quarter=quarter, attempt=attempt
        )
        if run.eval_set_version_id == bundle.version.id
    }
    sides = []
    for candidate in candidates:
        run = runs.get(candidate.id)
        if run is None:
            raise NotFoundError(
                f"workload {bundle.workload.name!r}: candidate {candidate.name!r} has no run for "
                f"{quarter} (attempt {attempt}) on eval set version {bundle.version.version}; "
                "benchmark it first"
            )
        sides.append(
            mapping.side_results(
                candidate,
                load_run_results(session, run.id),
                model_version=run.model_version,
                run_stats=run.stats,
            )
        )
    earlier = [d for d in decision_history(session, bundle.workload.id) if d.quarter < quarter]
    case = bundle.workload.case.value
    history = tuple(
        mapping.history_point(d.quarter, d.verdict.value, d.metrics or {}, case) for d in earlier
    )
    previous_hash = (earlier[-1].reproducibility or {}).get("eval_set_hash") if earlier else None
    scorer = bundle.workload.scorer or {}
    judge = Judge(route=scorer["route"]) if scorer.get("kind") == "llm_judge" else None
    inputs = DecisionInputs(
        policy=mapping.policy(bundle.workload),
        quarter=quarter,
        fine_tune=sides[0],
        buys=tuple(sides[1:]),
        eval_set_hash=bundle.version.content_hash,
        history=history,
        judge=judge,
        task_changed=previous_hash is not None and previous_hash != bundle.version.content_hash,
    )
    return inputs, runs


def _previous(session: Session, bundle: WorkloadBundle, quarter: str) -> PriorDecision | None:
    earlier = [d for d in decision_history(session, bundle.workload.id) if d.quarter < quarter]
    if not earlier:
        return None
    last = earlier[-1]
    return PriorDecision(
        quarter=last.quarter,
        verdict=last.verdict.value,  # type: ignore[arg-type]
        projected_erosion_quarter=(last.trend or {}).get("projected_erosion_quarter"),
    )


def _write_memo(outcome: DecisionOutcome) -> Path | None:
    folder = memo_dir() / outcome.workload / outcome.quarter
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
    )
