"""What the decision engine takes: plain frozen data, built by the caller from registry rows.

The Prefect task reads a workload's policy, this quarter's benchmark runs and the past
decisions from the registry and converts them into these shapes; nothing here knows where
they came from. Per-item arrays may be handed over as any sequence; they are stored as
read-only numpy arrays, validated once, and must be aligned with ``item_keys``.

The thresholds are the workloads file's own model, :class:`vocabulary.Thresholds` (defaults
from the decision frame, ``decision-frame.txt``; each can be overridden per workload).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from tasks.decision.errors import InvalidInputsError, InvalidResultsError
from tasks.decision.quarter import Quarter
from tasks.decision.sequential import LookLevels, SequentialUse
from vocabulary import Thresholds as Thresholds

if TYPE_CHECKING:
    from tasks.decision.drift import DriftReport
    from tasks.decision.measured_volume import MeasuredVolume

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Case = Literal["cost_distillation", "domain_expertise"]
Role = Literal["fine_tune", "buy"]
Verdict = Literal["keep", "watch", "retire", "inconclusive"]
VERDICTS: tuple[Verdict, ...] = ("keep", "watch", "retire", "inconclusive")


@dataclass(frozen=True, slots=True)
class Throughput:
    """How a GPU-priced candidate was measured, so its per-call cost can be checked."""

    hardware: str
    """E.g. ``'1x H100 80GB'``."""
    items_per_s: float
    batch_size: int | None = None
    gpu_usd_per_hour: float | None = None


@dataclass(frozen=True, eq=False)
class SideResults:
    """One candidate's per-item results on the eval set, aligned by ``item_keys``.

    An errored item (``errored[i]``) has no valid answer: its score is ignored (NaN is
    fine) and it never counts as passed. It is never dropped: the engine counts it against
    the side's error rate and bounds its unknown score between 0 and 1 (see ``verdict.py``).
    """

    name: str
    route: str
    """litellm route, e.g. ``openai/gpt-5`` or ``hosted_vllm/triage-ft-v3``."""
    model_version: str | None
    role: Role
    item_keys: tuple[str, ...]
    scores: FloatArray
    """In [0, 1] for every item that did not error."""
    passed: BoolArray
    errored: BoolArray
    cost_usd: FloatArray
    """What each call cost as recorded (errored calls at what they cost, often 0; they are
    left out of cost per call and per useful task, see ``money.py``)."""
    latency_ms: FloatArray
    prompt_tokens: FloatArray
    completion_tokens: FloatArray
    pricing: Mapping[str, Any] = field(default_factory=dict)
    """The prices used, as recorded (JSON-able), for the reproducibility block."""
    throughput: Throughput | None = None
    cost_per_call_usd: float | None = None
    """Override for GPU-hour pricing: hourly cost / measured calls per hour."""

    def __post_init__(self) -> None:
        keys = tuple(self.item_keys)
        n = len(keys)
        if n == 0:
            raise InvalidResultsError(candidate=self.name, problem="no items")
        if len(set(keys)) != n:
            raise InvalidResultsError(candidate=self.name, problem="duplicate item keys")
        if self.role not in ("fine_tune", "buy"):
            raise InvalidResultsError(
                candidate=self.name, problem=f"role {self.role!r} is not 'fine_tune' or 'buy'"
            )
        object.__setattr__(self, "item_keys", keys)
        arrays: dict[str, npt.DTypeLike] = {
            "scores": np.float64,
            "passed": np.bool_,
            "errored": np.bool_,
            "cost_usd": np.float64,
            "latency_ms": np.float64,
            "prompt_tokens": np.float64,
            "completion_tokens": np.float64,
        }
        for name, dtype in arrays.items():
            value = np.array(getattr(self, name), dtype=dtype)
            if value.shape != (n,):
                raise InvalidResultsError(
                    candidate=self.name,
                    problem=f"{name} has shape {value.shape}, expected ({n},) like item_keys",
                )
            value.flags.writeable = False
            object.__setattr__(self, name, value)
        ok = ~self.errored
        scores = self.scores[ok]
        if not np.all((scores >= 0.0) & (scores <= 1.0)):  # NaN fails both comparisons
            raise InvalidResultsError(
                candidate=self.name, problem="a non-errored score is outside [0, 1] or NaN"
            )
        if np.any(self.passed & self.errored):
            raise InvalidResultsError(candidate=self.name, problem="an errored item is passed")
        if not np.all(np.isfinite(self.cost_usd) & (self.cost_usd >= 0.0)):
            raise InvalidResultsError(candidate=self.name, problem="a cost is negative or NaN")
        if self.cost_per_call_usd is not None and not self.cost_per_call_usd >= 0.0:
            raise InvalidResultsError(
                candidate=self.name, problem=f"cost_per_call_usd {self.cost_per_call_usd!r} < 0"
            )

    @property
    def n_items(self) -> int:
        """How many items the side was asked, errored ones included."""
        return len(self.item_keys)


MIN_TREND_POINTS = 3
"""Quarters (this one included) needed before a trend can act. An engine rule, not a
workload setting."""
MAX_INTERVAL_WIDTH = 0.5
"""An advantage interval that straddles its bar and is wider than this cannot support keep or
retire: inconclusive. An engine rule, not a workload setting."""


@dataclass(frozen=True, slots=True)
class WorkloadPolicy:
    """A workload's declared facts (from the workload file and the registry)."""

    name: str
    case: Case
    """The gate under which the fine-tune was adopted."""
    volume_per_day: float | None
    """Production calls per day; None: unknown (gates that need it report unknown)."""
    fixed_costs_monthly_usd: float = 0.0
    """Fine-tune's fixed monthly costs (reserved serving capacity, upkeep)."""
    training_examples: int | None = None
    """Examples on record for the fine-tune; None: unknown."""
    task_stable: bool | None = None
    """Owner's declaration that the task's meaning is stable; None: not declared."""
    domain_stable: bool | None = None
    """Domain case: the domain knowledge does not need quarterly retraining."""
    adopted_quarter: str | None = None
    """When the fine-tune went to production (``YYYYQn``), for its age."""
    thresholds: Thresholds = field(default_factory=Thresholds)
    """The workload's thresholds (validated when built: the engine's rules are the model's)."""

    def __post_init__(self) -> None:
        if self.case not in ("cost_distillation", "domain_expertise"):
            raise InvalidInputsError(
                field="policy.case",
                value=self.case,
                expected="'cost_distillation' or 'domain_expertise'",
            )
        if self.adopted_quarter is not None:
            Quarter.parse(self.adopted_quarter)
        if self.volume_per_day is not None and not self.volume_per_day >= 0:
            raise InvalidInputsError(
                field="policy.volume_per_day", value=self.volume_per_day, expected=">= 0"
            )


@dataclass(frozen=True, slots=True)
class Judge:
    """The LLM judge that scored the items, when the scorer uses one."""

    route: str
    model_version: str | None = None


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    """One past quarter's decision, as the registry keeps it (None: not recorded)."""

    quarter: str
    advantage: float | None
    """Cost case: the quality ratio; domain case: the paired difference."""
    verdict: Verdict | None = None
    fine_tune_quality: float | None = None
    buy_quality: float | None = None
    fine_tune_cost_per_useful_task: float | None = None
    buy_cost_per_useful_task: float | None = None
    buy_name: str | None = None


@dataclass(frozen=True, slots=True)
class DecisionInputs:
    """Everything one decision needs: one workload, one quarter."""

    policy: WorkloadPolicy
    quarter: str
    fine_tune: SideResults
    buys: tuple[SideResults, ...]
    """Buy alternatives; the fine-tune must hold against every one (``comparison.py``)."""
    eval_set_hash: str
    history: tuple[HistoryPoint, ...] = ()
    judge: Judge | None = None
    task_changed: bool = False
    """The eval set or prompt changed meaning since the last quarter."""
    volume: MeasuredVolume | None = None
    """The volume read from the workload's source (it replaces ``policy.volume_per_day``,
    which the caller sets to the reading's value); None: the typed volume."""
    drift: DriftReport | None = None
    """The production sample compared with the eval set; None: no sample declared."""
    look: LookLevels | None = None
    """A sequential look's levels (the sides hold that look's items); None: the fixed test
    at ``alpha / 2`` (:mod:`tasks.decision.sequential`)."""
    sequential: SequentialUse | None = None
    """What sequential evaluation used and saved, for the memo and the registry."""

    def __post_init__(self) -> None:
        Quarter.parse(self.quarter)
        object.__setattr__(self, "buys", tuple(self.buys))
        object.__setattr__(self, "history", tuple(self.history))
        if not self.buys:
            raise InvalidInputsError(
                field="buys", value=(), expected="at least one buy alternative"
            )
        if self.fine_tune.role != "fine_tune":
            raise InvalidInputsError(
                field="fine_tune.role", value=self.fine_tune.role, expected="'fine_tune'"
            )
        seen: set[str] = set()
        for point in self.history:
            text = str(Quarter.parse(point.quarter))
            if text in seen:
                raise InvalidInputsError(
                    field="history", value=text, expected="one point per quarter"
                )
            seen.add(text)
