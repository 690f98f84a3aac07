"""The proposal file: a workload proposed before any fine-tune is built (``relitigate
propose``). Same schema as a workload in ``relitigate.yaml``, except that the fine-tune may be
absent (or a candidate checkpoint), plus what only a proposal says::

    version: 1
    proposals:
      - name: contract-review
        owner: {email: lead@example.com}
        case: domain_expertise
        volume_per_day: 40000                 # or a source, as for a workload
        fixed_costs_monthly_usd: 18000        # what a fine-tune would cost to keep
        training_examples: 12000
        eval_set: {path: evalsets/contracts.jsonl, scorer: {kind: exact}}
        buy: [{name: frontier, route: openai/gpt-5, ...}]
        prompt_variants:                      # each buy is tried with each, in this order
          - {name: zero-shot}
          - {name: expert-system, system: "You are a contracts lawyer..."}
          - {name: five-shot, system: "You are a contracts lawyer...", few_shot: 5}
        quality_target: 0.9                   # domain case: the score the work needs
        fine_tune_cost_per_call_usd: 0.0004   # without a checkpoint: its expected cost

Few-shot examples are the first eval items (as many as the largest ``few_shot``); they are
held out of scoring for every variant, so every variant is scored on the same items.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, ValidationError, model_validator

from registry.errors import WorkloadFileError
from registry.workload_file import WorkloadSpec, _validation_error
from registry.workload_parts import CandidateSpec
from registry.yaml_lines import read_yaml_file
from vocabulary import Name, NonNegative, Share, Strict


class PromptVariant(Strict):
    """One way of prompting every buy alternative."""

    name: Name
    system: Annotated[str, StringConstraints(max_length=20_000)] | None = None
    """System prompt; None keeps each buy's own."""
    few_shot: Annotated[int, Field(ge=0, le=50)] = 0
    """How many worked examples (held-out eval items) precede the input."""


class BuildClaims(Strict):
    """What the proposal claims for the build branch (all three must hold)."""

    proprietary_tokens: NonNegative | None = None
    strategic_asset: bool | None = None
    capital_usd: NonNegative | None = None


class ProposalSpec(WorkloadSpec):
    """A proposed workload: the fine-tune optional, prompt variants to try on every buy."""

    fine_tune: CandidateSpec | None = None  # type: ignore[assignment]
    """A candidate checkpoint to run head-to-head; None: no fine-tune exists yet."""
    prompt_variants: list[PromptVariant] = Field(
        default_factory=lambda: [PromptVariant(name="as-declared")], min_length=1, max_length=20
    )
    """Tried on every buy, in order: the memo shows where quality stops improving."""
    quality_target: Share | None = None
    """Domain case: the score the task needs (the prompting ceiling is judged against it)."""
    fine_tune_cost_per_call_usd: NonNegative | None = None
    """Expected per-call cost of the fine-tune, for the break-even volume without a
    checkpoint."""
    build: BuildClaims | None = None
    """Claims for the build branch, when it is considered at all."""

    @model_validator(mode="after")
    def _unique_candidates(self) -> ProposalSpec:  # replaces WorkloadSpec's check
        if not self.buy:
            raise ValueError("give at least one buy alternative")
        names = [c.name for c in [*([self.fine_tune] if self.fine_tune else []), *self.buy]]
        if len(set(names)) != len(names):
            raise ValueError("a candidate name is used twice")
        variants = [v.name for v in self.prompt_variants]
        if len(set(variants)) != len(variants):
            raise ValueError("a prompt variant name is used twice")
        return self

    def workload_entry(self) -> dict[str, Any]:
        """The workload this proposal becomes (proposal-only fields dropped, paths as
        written)."""
        extra = {"prompt_variants", "quality_target", "fine_tune_cost_per_call_usd", "build"}
        return self.model_dump(mode="json", exclude=extra, exclude_unset=True)


class ProposalFile(Strict):
    """The whole proposal file."""

    version: Literal[1] = 1
    proposals: list[ProposalSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> ProposalFile:
        names = [p.name for p in self.proposals]
        if len(set(names)) != len(names):
            raise ValueError("a proposal name is used twice")
        return self


def load_proposal_file(path: str | Path) -> ProposalFile:
    """Read and validate a proposal file.

    Raises:
        WorkloadFileError: unreadable, not YAML, or not the schema (file, line and field named).
    """
    path = Path(path)
    data, lines = read_yaml_file(path)
    if not isinstance(data, dict):
        raise WorkloadFileError("expected a mapping with 'version' and 'proposals'", path=path)
    try:
        return ProposalFile.model_validate(data, context={"base_dir": path.parent})
    except ValidationError as exc:
        raise _validation_error(exc, path, lines) from None
