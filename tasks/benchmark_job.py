"""What one benchmark works on, read from the registry once: the candidate's spec, the eval
set's items, the scorer's settings and the attempt; and the scorer and keys built from them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from registry.models import Candidate
from registry.queries import load_workload
from registry.runs import latest_attempt
from tasks import mapping
from tasks.context import RegistryContext
from tasks.evaluation.types import CandidateSpec, EvalItem

if TYPE_CHECKING:
    from tasks.evaluation.scorers import Scorer


@dataclass(frozen=True)
class BenchJob:
    """One candidate of one workload, on the workload's eval-set version, for one quarter and
    attempt."""

    workload: str
    candidate: str
    quarter: str
    attempt: int
    candidate_id: int
    version_id: int
    spec: CandidateSpec
    items: list[EvalItem]
    scorer_raw: dict[str, Any]
    runner: str
    serving: dict[str, Any]
    flush_s: float
    """Results reach the registry at least this often."""

    @property
    def label(self) -> str:
        """``workload/candidate quarter (attempt n)``, for log lines and errors."""
        return f"{self.workload}/{self.candidate} {self.quarter} (attempt {self.attempt})"


def load_job(
    ctx: RegistryContext,
    names: tuple[str, str, str],
    *,
    attempt: int | None,
    flush_s: float,
) -> BenchJob:
    """The benchmark of candidate ``names[1]`` of workload ``names[0]`` for quarter
    ``names[2]``; ``attempt`` None: the workload's newest attempt for the quarter, else 1."""
    workload, candidate, quarter = names
    with ctx.sessions.begin() as session:
        bundle = load_workload(session, workload)
        row = _find(bundle.candidates, workload, candidate)
        if attempt is None:
            attempt = max(1, latest_attempt(
                session, candidate_ids=[c.id for c in bundle.candidates],
                eval_set_version_id=bundle.version.id, quarter=quarter,
            ))  # fmt: skip
        return BenchJob(
            workload=workload, candidate=candidate, quarter=quarter, attempt=attempt,
            candidate_id=row.id, version_id=bundle.version.id,
            spec=mapping.candidate_spec(row), items=[mapping.eval_item(i) for i in bundle.items],
            scorer_raw=dict(bundle.workload.scorer or {}), runner=row.runner.value,
            serving=dict(row.serving or {}), flush_s=flush_s,
        )  # fmt: skip


def scorer_and_credentials(
    scorer_raw: Mapping[str, Any], specs: Sequence[CandidateSpec]
) -> tuple[Scorer, dict[str, str]]:
    """The workload's scorer and the API keys its candidates and judge name (environment,
    else Prefect Secret blocks; see :mod:`tasks.credentials`). Blocking: run in a thread
    from async code."""
    from tasks.credentials import credentials_for
    from tasks.evaluation.scorers import build_scorer, settings_of

    settings = settings_of(scorer_raw)
    judge_key = getattr(settings, "api_key_env", None)  # an LLM judge's key variable
    credentials = credentials_for([*(s.api_key_env or "" for s in specs), judge_key or ""])
    return build_scorer(settings, env=credentials), credentials


def _find(candidates: Sequence[Candidate], workload: str, name: str) -> Candidate:
    for row in candidates:
        if row.name == name:
            return row
    from registry.errors import NotFoundError

    names = ", ".join(c.name for c in candidates)
    raise NotFoundError(f"workload {workload!r} has no candidate {name!r} (it has: {names})")
