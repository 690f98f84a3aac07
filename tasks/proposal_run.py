"""``relitigate propose``: run a proposal's head-to-head through the evaluation engine and
check it against the frame (:mod:`tasks.decision.proposal`), before anything is built.

Each buy alternative is run once per prompt variant on the same scored eval items (the first
items are held out as few-shot examples for every variant); a candidate checkpoint, when the
proposal names one, is run as it is declared. Runs are not written to the registry: only the
proposal's evidence and memo are (:mod:`registry.proposals`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from registry.evalset_files import read_eval_set
from registry.measured_sources import stored_volume
from registry.models import Candidate, CandidateRole
from registry.proposal_file import PromptVariant, ProposalSpec
from registry.stored_form import candidate_values
from registry.workload_parts import CandidateSpec as DeclaredCandidate
from tasks import mapping
from tasks.credentials import credentials_for
from tasks.decision.measured_volume import MeasuredVolume
from tasks.decision.outcome import jsonable
from tasks.decision.proposal import (
    BuildFacts,
    ProposalFacts,
    ProposalOutcome,
    VariantRun,
    assess_proposal,
)
from tasks.decision.proposal_memo import render_proposal_memo
from tasks.decision.sides import SideSummary, summarize
from tasks.decision.types import FloatArray, Role, SideResults
from tasks.evaluation.runner import run_candidate
from tasks.evaluation.scorers import build_scorer
from tasks.evaluation.types import CandidateSpec, EvalItem, FewShot, ItemResult, Scorer
from tasks.measured.sample import input_text
from tasks.measured.volume import read_volume
from vocabulary import Thresholds


@dataclass(frozen=True)
class ProposalCheck:
    """A checked proposal: the outcome, its memo and its evidence as JSON."""

    outcome: ProposalOutcome
    memo: str
    evidence: dict[str, Any]


class _Collect:
    def __init__(self) -> None:
        self.rows: list[ItemResult] = []

    async def write(self, results: Sequence[ItemResult]) -> None:
        self.rows.extend(results)


def engine_spec(declared: DeclaredCandidate, role: CandidateRole) -> CandidateSpec:
    """The engine's view of a declared candidate (the same conversion a synced one gets)."""
    return mapping.candidate_spec(Candidate(name=declared.name, **candidate_values(declared, role)))


def _items(spec: ProposalSpec, base: Path) -> list[EvalItem]:
    path = Path(spec.eval_set.path)
    parsed = read_eval_set(path if path.is_absolute() else base / path, format=spec.eval_set.format)
    return [
        EvalItem(
            key=i.key,
            input=i.input,
            target=i.target
            if isinstance(i.target, str)
            else json.dumps(i.target, sort_keys=True, ensure_ascii=False),
            metadata=i.metadata,
        )
        for i in parsed.items
    ]


def _variant(base: CandidateSpec, v: PromptVariant, examples: Sequence[EvalItem]) -> CandidateSpec:
    shots = tuple(
        FewShot(input=input_text(e.input), output=e.target) for e in examples[: v.few_shot]
    )
    prompt = dataclasses.replace(
        base.prompt, system=v.system if v.system is not None else base.prompt.system, few_shot=shots
    )
    return dataclasses.replace(base, prompt=prompt)


async def _run(
    spec: CandidateSpec, items: list[EvalItem], scorer: Scorer, env: dict[str, str], *, role: Role
) -> SideResults:
    sink = _Collect()
    await run_candidate(spec, items, scorer=scorer, sink=sink, env=env)
    got = {r.item_key: r for r in sink.rows}
    rows = [got.get(i.key) for i in items]
    answered = [r for r in rows if r is not None and not r.error]

    def column(value: Callable[[ItemResult], float], missing: float) -> FloatArray:
        return np.array([missing if r is None else value(r) for r in rows], dtype=np.float64)

    errored = np.array([r is None or bool(r.error) for r in rows], dtype=np.bool_)
    return SideResults(
        name=spec.name,
        route=spec.route,
        model_version=next((r.model_version for r in answered if r.model_version), None),
        role=role,
        item_keys=tuple(i.key for i in items),
        scores=np.where(errored, 0.0, column(lambda r: r.score, 0.0)),
        passed=~errored & np.array([r is not None and r.passed for r in rows], dtype=np.bool_),
        errored=errored,
        cost_usd=column(lambda r: float(r.cost_usd), 0.0),
        latency_ms=column(lambda r: r.latency_ms, float("nan")),
        prompt_tokens=column(lambda r: r.prompt_tokens, 0.0),
        completion_tokens=column(lambda r: r.completion_tokens, 0.0),
    )


async def _head_to_head(
    spec: ProposalSpec, items: list[EvalItem], alpha: float
) -> tuple[list[VariantRun], SideSummary | None]:
    held = max(v.few_shot for v in spec.prompt_variants)
    examples, scored = items[:held], items[held:]
    declared = [*spec.buy, *([spec.fine_tune] if spec.fine_tune else [])]
    env = credentials_for([c.api_key_env for c in declared if c.api_key_env])
    scorer = build_scorer(spec.eval_set.scorer, env=env)
    jobs: list[tuple[str, str, CandidateSpec, Role]] = []
    for buy in spec.buy:
        base = engine_spec(buy, CandidateRole.BUY)
        jobs += [
            (buy.name, v.name, _variant(base, v, examples), "buy") for v in spec.prompt_variants
        ]
    if spec.fine_tune is not None:
        ft = engine_spec(spec.fine_tune, CandidateRole.FINE_TUNE)
        jobs.append((spec.fine_tune.name, "as declared", ft, "fine_tune"))
    sides = await asyncio.gather(*(_run(s, scored, scorer, env, role=r) for _, _, s, r in jobs))
    runs = [
        VariantRun(buy, variant, summarize(side, alpha=alpha))
        for (buy, variant, _, role), side in zip(jobs, sides, strict=True)
        if role == "buy"
    ]
    fine_tune = next(
        (summarize(side, alpha=alpha) for (*_, role), side in zip(jobs, sides, strict=True)
         if role == "fine_tune"), None)  # fmt: skip
    return runs, fine_tune


def _facts(spec: ProposalSpec, volume: MeasuredVolume | None) -> ProposalFacts:
    typed = spec.volume_per_day if isinstance(spec.volume_per_day, int) else None
    build = spec.build
    return ProposalFacts(
        name=spec.name, case=spec.case.value, volume=volume,  # type: ignore[arg-type]
        volume_per_day=float(typed) if typed is not None else (volume.value if volume else None),
        fixed_costs_monthly_usd=spec.fixed_costs_monthly_usd,
        training_examples=spec.training_examples, task_stable=spec.task_stable,
        domain_stable=spec.domain_stable, quality_target=spec.quality_target,
        fine_tune_cost_per_call_usd=spec.fine_tune_cost_per_call_usd,
        build=None if build is None else BuildFacts(**build.model_dump()),
        thresholds=Thresholds.model_validate(spec.threshold_overrides()),
    )  # fmt: skip


def check_proposal(spec: ProposalSpec, *, base: Path, now: datetime | None = None) -> ProposalCheck:
    """Run the proposal's head-to-head and apply the frame's checks (blocking).

    Args:
        spec: the proposal.
        base: the proposal file's folder (relative paths are resolved against it).
        now: when the check is taken.

    Raises:
        EvalSetError: the eval set cannot be read.
        EvaluationError: bad candidate configuration or a permanent provider error.
    """
    now = now or datetime.now(UTC)
    volume = None
    if not isinstance(spec.volume_per_day, int):
        volume = read_volume(stored_volume(spec.volume_per_day), now=now)
    facts = _facts(spec, volume)
    items = _items(spec, base)
    runs, fine_tune = asyncio.run(_head_to_head(spec, items, facts.thresholds.significance_alpha))
    held = max(v.few_shot for v in spec.prompt_variants)
    outcome = assess_proposal(facts, runs, fine_tune=fine_tune, n_items=len(items) - held)
    memo = render_proposal_memo(outcome, decided_on=now.date().isoformat())
    evidence = {
        "checked_at": now.isoformat(),
        **jsonable(outcome),
        "reasons": list(outcome.reasons),
    }
    return ProposalCheck(outcome, memo, evidence)
