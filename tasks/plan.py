"""What a workload's quarter will run: its candidates by role, read from the registry.

A buy alternative that a deprecation takes out of the comparison
(:mod:`tasks.decision.deprecations`) is left out here, so it is never benchmarked or paid
for; the decide task judges on the plan's day, so both agree on which buys are compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from registry.models import Runner
from registry.queries import list_workloads, load_workload
from tasks.context import RegistryContext
from tasks.deprecation_inputs import compared_workload


@dataclass(frozen=True)
class WorkloadPlan:
    """The candidates one workload benchmarks this quarter."""

    workload: str
    fine_tune: str
    fine_tune_self_hosted: bool
    """Runner ``vllm`` or ``transformers``: it belongs on a GPU worker."""
    buys: tuple[str, ...]
    """The buy alternatives compared, and so benchmarked."""
    today: date
    """The day the plan was made: the looks and the decision judge deprecations on it."""
    left: tuple[str, ...] = ()
    """Buy alternatives that left the comparison (deprecating within the horizon)."""


def plan_workload(
    ctx: RegistryContext, workload: str, *, today: date | None = None
) -> WorkloadPlan:
    """The plan for ``workload`` on ``today`` (default: the current date); raises
    ``NotFoundError`` for an unknown or archived workload."""
    today = today or date.today()
    with ctx.sessions.begin() as session:
        bundle = load_workload(session, workload, with_items=False)
        compared = compared_workload(session, bundle, today=today)
        return WorkloadPlan(
            workload=workload,
            fine_tune=bundle.fine_tune.name,
            fine_tune_self_hosted=bundle.fine_tune.runner != Runner.API,
            buys=tuple(c.name for c in compared.bundle.buy),
            today=today,
            left=compared.review.dropped_buys,
        )


def active_workload_names(ctx: RegistryContext, only: list[str] | None = None) -> list[str]:
    """Active workloads with a fine-tune, or the ``only`` ones (each must exist)."""
    with ctx.sessions.begin() as session:
        names = [w.name for w in list_workloads(session)]
    if not only:
        return names
    from registry.errors import NotFoundError

    missing = sorted(set(only) - set(names))
    if missing:
        raise NotFoundError(
            f"no active workload named {', '.join(map(repr, missing))}: see `relitigate workloads`"
        )
    return [n for n in names if n in set(only)]
