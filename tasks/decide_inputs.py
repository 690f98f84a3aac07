"""What the decide task reads from the registry: a quarter's runs turned into the decision
core's inputs, and the workload's previous decision (for the notice's wording)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from registry.decisions import decision_history
from registry.errors import NotFoundError
from registry.models import Run
from registry.queries import WorkloadBundle
from registry.runs import load_run_results, runs_for
from tasks import mapping
from tasks.decision.types import DecisionInputs, Judge
from tasks.notify import PriorDecision


@dataclass(frozen=True)
class QuarterRuns:
    """The decision core's inputs, and the run each candidate's side was read from."""

    inputs: DecisionInputs
    runs: dict[int, Run]
    """Candidate id -> its run of the attempt decided on."""

    def run_id_of(self, bundle: WorkloadBundle, name: str) -> int | None:
        """The run of the candidate called ``name``."""
        for candidate in bundle.candidates:
            if candidate.name == name:
                return self.runs[candidate.id].id
        return None


def quarter_runs(
    session: Session, bundle: WorkloadBundle, quarter: str, attempt: int
) -> QuarterRuns:
    """Every candidate's run of ``attempt`` on the workload's eval-set version, and the
    decision core's inputs built from them (raises ``NotFoundError`` for a missing run)."""
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
    return QuarterRuns(inputs, runs)


def previous_decision(
    session: Session, bundle: WorkloadBundle, quarter: str
) -> PriorDecision | None:
    """The workload's last decision before ``quarter``, if any."""
    earlier = [d for d in decision_history(session, bundle.workload.id) if d.quarter < quarter]
    if not earlier:
        return None
    last = earlier[-1]
    return PriorDecision(
        quarter=last.quarter,
        verdict=last.verdict.value,  # type: ignore[arg-type]
        projected_erosion_quarter=(last.trend or {}).get("projected_erosion_quarter"),
    )
