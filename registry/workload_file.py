"""Workloads as code: the schema of ``relitigate.yaml`` and its loader.

A complete, commented example lives in ``examples/relitigate.yaml``. In short::

    version: 1
    workloads:
      - name: ticket-triage
        owner: {email: owner@example.com, slack_channel: "#ml-platform"}
        case: cost_distillation            # or domain_expertise
        volume_per_day: 14000000
        fixed_costs_monthly_usd: 21000
        adopted: 2025Q2
        thresholds: {quality_ratio_min: 0.95}   # overrides only
        eval_set:
          path: evalsets/ticket-triage.jsonl    # relative to this file
          scorer: {kind: exact}
        fine_tune: {name: triage-ft, route: openai/sim-ft-triage, ...}
        buy: [{name: frontier, route: openai/sim-frontier, ...}]

:func:`load_workload_file` validates it and raises :class:`~registry.errors.WorkloadFileError`
naming the file, the line and the field of the first problem.

Candidates and the eval-set reference are :mod:`registry.workload_parts`; thresholds, scorer
settings, prompt, pricing and limits are the shared :mod:`vocabulary` the engines read too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from registry.errors import WorkloadFileError
from registry.quarters import QUARTER_RE
from registry.workload_parts import CandidateSpec, EvalSetRef
from registry.yaml_lines import LineMap, read_yaml_file
from vocabulary import Case, Count, Name, NonNegative, Strict, Thresholds
from vocabulary.catalog import CatalogEntry, CatalogPick, DeprecationSettings
from vocabulary.measured import ProductionSample, Volume

Quarter = Annotated[str, StringConstraints(pattern=QUARTER_RE)]
"""A quarter, ``YYYYQn``."""


class Owner(Strict):
    """Who owns the workload and where its notices go (at least one of the three)."""

    email: (
        Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=320)]
        | None
    ) = None
    """Owner's email; the Slack user is looked up by it when ``slack_user`` is not given."""
    slack_user: Annotated[str, StringConstraints(pattern=r"^[UW][A-Z0-9]{2,63}$")] | None = None
    """Slack member id (``U...``) to message directly."""
    slack_channel: Annotated[str, StringConstraints(min_length=2, max_length=200)] | None = None
    """Channel name (``#ml-platform``) or id (``C...``) for the notice."""

    @model_validator(mode="after")
    def _someone(self) -> Owner:
        if not (self.email or self.slack_user or self.slack_channel):
            raise ValueError("give at least one of email, slack_user, slack_channel")
        return self


class WorkloadSpec(Strict):
    """One production AI task and the candidates re-litigated for it."""

    name: Name
    """Unique across the file; the registry key."""
    description: str = ""
    """What the workload does, in a sentence."""
    owner: Owner
    """Who hears about the verdict."""
    case: Case
    """The gate the fine-tune was adopted under: cost_distillation or domain_expertise."""
    volume_per_day: Volume
    """Production calls per day: a number, or a source it is read from at each decision
    (``{sql: ...}``, ``{prometheus: ...}``, ``{csv: ...}``; :mod:`vocabulary.measured`)."""
    fixed_costs_monthly_usd: NonNegative = 0.0
    """The fine-tune's fixed monthly costs (reserved serving capacity, upkeep)."""
    training_examples: Count | None = None
    """High-quality training examples on record (domain_expertise gate)."""
    task_stable: bool = True
    """The task definition (eval set and prompt meaning) is unchanged."""
    domain_stable: bool = True
    """The domain knowledge is stable enough to avoid quarterly retraining."""
    production_sample: ProductionSample | None = None
    """Recent production inputs compared with the eval set at each decision (task drift)."""
    adopted: Quarter | None = None
    """Quarter the fine-tune went to production (its age is measured from it)."""
    thresholds: Thresholds = Field(default_factory=Thresholds)
    """Overrides of the gate thresholds (only the ones written are stored)."""
    eval_set: EvalSetRef
    """The workload's eval set and scorer."""
    fine_tune: CandidateSpec
    """The production fine-tune."""
    catalog: CatalogPick | None = None
    """Which entries of the file's ``catalog`` also challenge the fine-tune (by name,
    provider, tag, price per call); each quarter's buys are ``buy`` plus these."""
    buy: list[CandidateSpec] = Field(default_factory=list, validate_default=True)
    """The buy alternatives (frontier models); the fine-tune must hold against every one.
    At least one here, or a ``catalog`` pick."""

    @field_validator("buy")
    @classmethod
    def _some_buy(cls, buy: list[CandidateSpec], info: ValidationInfo) -> list[CandidateSpec]:
        if not buy and info.data.get("catalog") is None:
            raise ValueError("give at least one buy alternative, or a catalog pick")
        return buy

    @model_validator(mode="after")
    def _unique_candidates(self) -> WorkloadSpec:
        seen: set[str] = set()
        for candidate in [self.fine_tune, *self.buy]:
            if candidate.name in seen:
                raise ValueError(f"candidate name {candidate.name!r} is used twice")
            seen.add(candidate.name)
        return self

    def threshold_overrides(self) -> dict[str, Any]:
        """Only the thresholds the file sets (what the registry stores)."""
        return self.thresholds.model_dump(mode="json", exclude_unset=True)


class WorkloadFile(Strict):
    """The whole ``relitigate.yaml``."""

    version: Literal[1] = 1
    """Schema version of this file."""
    workloads: list[WorkloadSpec]
    """Every workload relitigate manages. One missing here is archived on sync."""
    catalog: list[CatalogEntry] = Field(default_factory=list)
    """Frontier models any workload may pick as buy alternatives (``workloads[].catalog``)."""
    deprecations: DeprecationSettings = Field(default_factory=DeprecationSettings)
    """Deprecation dates for routes the price map does not date."""

    @model_validator(mode="after")
    def _unique_names(self) -> WorkloadFile:
        seen: set[str] = set()
        for workload in self.workloads:
            if workload.name in seen:
                raise ValueError(f"workload name {workload.name!r} is used twice")
            seen.add(workload.name)
        entries = [entry.name for entry in self.catalog]
        if len(set(entries)) != len(entries):
            raise ValueError("a catalog entry name is used twice")
        for workload in self.workloads:
            unknown = sorted(set(workload.catalog.names if workload.catalog else ()) - set(entries))
            if unknown:
                raise ValueError(
                    f"workload {workload.name!r} picks catalog entries that are not in the "
                    f"catalog: {', '.join(unknown)}"
                )
        return self


def _field_path(loc: tuple[int | str, ...], lines: LineMap) -> tuple[tuple[str | int, ...], str]:
    """The loc minus pydantic's synthetic parts (union tags), and its dotted rendering."""
    kept: list[str | int] = []
    for i, part in enumerate(loc):
        candidate = (*kept, part)
        if candidate in lines or i == len(loc) - 1:
            kept.append(part)
    text = ""
    for part in kept:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return tuple(kept), text


def _validation_error(exc: ValidationError, path: Path, lines: LineMap) -> WorkloadFileError:
    # An unknown key is usually a misspelt one, which also shows up as a missing field:
    # report the spelling first.
    errors = sorted(exc.errors(include_url=False), key=lambda e: e["type"] != "extra_forbidden")
    first = errors[0]
    loc, field = _field_path(tuple(first["loc"]), lines)
    message = str(first["msg"]).removeprefix("Value error, ")
    secretish = any(w in str(loc[-1]).lower() for w in ("key", "token", "secret")) if loc else False
    if first["type"] == "extra_forbidden":
        message = "unknown field (check the spelling; see examples/relitigate.yaml)"
    elif secretish and first["type"] == "string_pattern_mismatch":
        # Never echo what may be a secret pasted into the wrong place.
        message = (
            "must be the NAME of an environment variable or Prefect Secret block "
            "(letters, digits, '_'), never the key itself"
        )
    elif first["type"] != "missing" and "input" in first and not secretish:
        value = first["input"]
        shown = repr(value)
        if (
            isinstance(value, str | int | float | bool)
            and len(shown) <= 60
            and shown not in message
        ):
            message += f" (got {shown})"
    if len(errors) > 1:
        message += f" [and {len(errors) - 1} more problem(s)]"
    return WorkloadFileError(message, path=path, line=lines.line_for(loc), field=field or None)


def load_workload_file(path: str | Path) -> WorkloadFile:
    """Read and validate a workloads file (see :func:`load_workload_file_with_lines`)."""
    return load_workload_file_with_lines(path)[0]


def load_workload_file_with_lines(
    path: str | Path, *, document: tuple[Any, LineMap] | None = None
) -> tuple[WorkloadFile, LineMap]:
    """Read and validate a workloads file, keeping the line of every key.

    Args:
        path: the ``relitigate.yaml`` to read.
        document: the file already parsed by :func:`~registry.yaml_lines.read_yaml_file`
            (the CLI parses it before importing the registry, so hostile YAML costs nothing).

    Returns:
        The validated file, and the line map (for errors found later, e.g. a missing eval set).

    Raises:
        WorkloadFileError: the file is missing, too large, not UTF-8, not YAML (or crosses a
            limit of :class:`~registry.yaml_lines.YamlLimits`), or does not match the schema;
            the message names the file, the line and the field.
    """
    path = Path(path)
    data, lines = document if document is not None else read_yaml_file(path)
    if data is None:
        raise WorkloadFileError("empty file: expected 'version' and 'workloads'", path=path)
    if not isinstance(data, dict):
        raise WorkloadFileError(
            f"expected a mapping with 'version' and 'workloads', got {type(data).__name__}",
            path=path,
            line=lines.line_for(()),
        )
    try:
        return WorkloadFile.model_validate(data, context={"base_dir": path.parent}), lines
    except ValidationError as exc:
        raise _validation_error(exc, path, lines) from None
