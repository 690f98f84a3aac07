"""What each flow is asked to do: its one parameter, a pydantic model.

Prefect shows a model parameter as a form (each field with its description) and validates
what a deployment run, the UI or ``run_deployment`` sends. Parameters are stored in the
Prefect API, so they carry names, quarters and switches only: never a database URL, a key or
a token.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from tasks.decision.quarter import Quarter

_MODEL = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


def current_quarter() -> str:
    """The quarter today falls in (UTC)."""
    return str(Quarter.from_date(datetime.now(UTC).date()))


def _quarter(value: str) -> str:
    return str(Quarter.parse(value))


QuarterText = Annotated[str, AfterValidator(_quarter)]
"""``YYYYQn`` (n in 1..4)."""
M = TypeVar("M", bound=BaseModel)


class QuarterRequest(BaseModel):
    """One quarter's re-litigation of every production fine-tune (or of some)."""

    model_config = _MODEL

    quarter: QuarterText | None = None
    """YYYYQn, e.g. 2026Q4; empty: the quarter today falls in (UTC)."""
    workloads: list[str] | None = None
    """Only these workloads; empty: every active one."""
    force: bool = False
    """Re-decide quarters already decided, from the stored results (benchmarks only resume,
    nothing is paid twice)."""
    deliver: bool = True
    """Send the pending Slack notices (the quarter digest included) at the end."""
    fresh: bool = False
    """Re-benchmark from scratch as a new attempt and decide again; the earlier attempt's
    runs, results and decision stay on record."""

    def resolved_quarter(self) -> str:
        """:attr:`quarter`, or the current one."""
        return self.quarter or current_quarter()

    def run_name(self) -> str:
        """``quarter 2026Q4``, with the workloads when only some run (a scheduled run, which
        names no quarter, gets the quarter it resolves to)."""
        only = f" ({', '.join(self.workloads)})" if self.workloads else ""
        return f"quarter {self.resolved_quarter()}{only}"


class WorkloadRequest(BaseModel):
    """One workload's re-litigation for one quarter."""

    model_config = _MODEL

    workload: str = Field(min_length=1)
    """The workload's name (see ``relitigate workloads``)."""
    quarter: QuarterText
    """YYYYQn, e.g. 2026Q4."""
    force: bool = False
    """Re-decide the quarter if already decided (benchmarks only resume)."""
    fresh: bool = False
    """Re-benchmark from scratch as a new attempt, and decide again."""

    def run_name(self) -> str:
        """``workload quarter``, e.g. ``ticket-triage 2026Q4``."""
        return f"{self.workload} {self.quarter}"


class BenchmarkRequest(BaseModel):
    """One candidate's benchmark on its workload's eval set for one quarter."""

    model_config = _MODEL

    workload: str = Field(min_length=1)
    """The workload's name."""
    candidate: str = Field(min_length=1)
    """The candidate's name within the workload (e.g. its fine-tune)."""
    quarter: QuarterText
    """YYYYQn, e.g. 2026Q4."""
    budget_usd: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    """Stop spending past this many USD (the run is recorded incomplete); empty: no cap."""
    attempt: int | None = Field(default=None, ge=1)
    """The benchmark attempt; empty: the workload's newest for the quarter (1 if none)."""
    retry_level: int = Field(default=1, ge=0)
    """Retry passes over errored items the run should have had in all (1: the automatic one)."""

    def run_name(self) -> str:
        """``workload/candidate quarter``, e.g. ``triage/ft 2026Q4``."""
        return f"{self.workload}/{self.candidate} {self.quarter}"


def request_of(model: type[M], parameters: dict[str, Any]) -> M:
    """A flow run's request from its parameters as Prefect holds them (a model, or the
    plain data a deployment run was given)."""
    return model.model_validate(parameters.get("request") or {})


def run_name_of(
    model: type[QuarterRequest | WorkloadRequest | BenchmarkRequest],
) -> Callable[[], str]:
    """A ``flow_run_name`` callable: the run's name from its request (Prefect calls it
    before the flow body runs, with the parameters in ``prefect.runtime.flow_run``)."""

    def run_name() -> str:
        from prefect.runtime import flow_run

        return request_of(model, flow_run.parameters).run_name()

    return run_name
