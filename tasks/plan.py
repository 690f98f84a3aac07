"""What a workload's quarter will run: its candidates by role, read from the registry."""

from __future__ import annotations

from dataclasses import dataclass

from registry.models import Runner
from registry.queries import list_workloads, load_workload
from tasks.context import RegistryContext


@dataclass(frozen=True)
class WorkloadPlan:
    """The candidates one workload benchmarks this quarter."""

    workload: str
    fine_tune: str
    fine_tune_self_hosted: bool
    """Runner ``vllm`` or ``transformers``: it belongs on a GPU worker."""
    buys: tuple[str, ...]


def plan_workload(ctx: RegistryContext, workload: str) -> WorkloadPlan:
    """The plan for ``workload`` (raises ``NotFoundError`` for an unknown or archived one)."""
    with ctx.sessions.begin() as session:
        bundle = load_workload(session, workload, with_items=False)
        return WorkloadPlan(
            workload=workload,
            fine_tune=bundle.fine_tune.name,
            fine_tune_self_hosted=bundle.fine_tune.runner != Runner.API,
            buys=tuple(c.name for c in bundle.buy),
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
