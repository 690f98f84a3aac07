"""Small builders of registry rows for tests."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from registry.evalset_files import ParsedEvalSet, ParsedItem, content_hash
from registry.evalsets import store_eval_set
from registry.models import Candidate, CandidateRole, Case, Runner, Workload


@dataclass(frozen=True)
class Seeded:
    """Ids of a seeded workload."""

    workload_id: int
    fine_tune_id: int
    buy_id: int
    version_id: int
    item_keys: tuple[str, ...]


def parsed_items(n: int, *, prefix: str = "item") -> ParsedEvalSet:
    """``n`` text items ``{prefix}-0..n-1``."""
    items = tuple(
        ParsedItem(key=f"{prefix}-{i}", input=f"question {i}", target=f"answer {i}")
        for i in range(n)
    )
    return ParsedEvalSet(
        path="memory.jsonl", format="jsonl", items=items, content_hash=content_hash(items)
    )


def seed_workload(session: Session, *, name: str = "triage", items: int = 5) -> Seeded:
    """A workload with a fine-tune, one buy alternative and an eval set of ``items`` items."""
    parsed = parsed_items(items)
    version = store_eval_set(session, name=f"{name}-set", parsed=parsed)
    workload = Workload(
        name=name,
        case=Case.COST_DISTILLATION,
        volume_per_day=12_000_000,
        eval_set_id=version.eval_set_id,
        eval_set_version_id=version.version_id,
    )
    session.add(workload)
    session.flush()
    fine_tune = Candidate(
        workload_id=workload.id,
        name="ft",
        role=CandidateRole.FINE_TUNE,
        runner=Runner.API,
        route="openai/sim-ft",
    )
    buy = Candidate(
        workload_id=workload.id,
        name="frontier",
        role=CandidateRole.BUY,
        runner=Runner.API,
        route="openai/sim-frontier",
    )
    session.add_all([fine_tune, buy])
    session.flush()
    return Seeded(
        workload_id=workload.id,
        fine_tune_id=fine_tune.id,
        buy_id=buy.id,
        version_id=version.version_id,
        item_keys=tuple(i.key for i in parsed.items),
    )
