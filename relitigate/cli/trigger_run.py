"""``relitigate run --triggered`` and ``run --challenger NAME``: runs asked for by causes.

``--triggered`` claims the open trigger causes (:mod:`tasks.triggers`), re-decides the
current quarter of their workloads and marks each cause done once its workload is decided
(a failed workload's causes wait for the next triggered run); a plain ``run`` settles the
causes recorded before it of the workloads it decided (:func:`settle_run`).
``--challenger`` re-decides every workload a catalog entry challenges, so the new buy is
benchmarked now instead of at the next quarter; its ``catalog:<entry>`` causes are settled
with it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from flows.parameters import QuarterRequest
    from flows.quarter import QuarterOutcome
    from tasks.context import RegistryContext

Show = Callable[..., None]


def _quarter_flow(ctx: RegistryContext, request: QuarterRequest) -> tuple[QuarterOutcome, bool]:
    """The quarter flow's outcome for ``request``, and whether some workload failed."""
    import asyncio

    from relitigate.prefect_env import apply_prefect_defaults
    from tasks.context import handed_down

    apply_prefect_defaults()
    from flows.quarter import QuarterFailedError, QuarterOutcome, relitigate_quarter

    try:
        with handed_down(ctx):
            return asyncio.run(relitigate_quarter(request)), False
    except QuarterFailedError as exc:
        if exc.outcome is None:
            typer.echo(f"relitigate: {exc}", err=True)
        return exc.outcome or QuarterOutcome(quarter=request.resolved_quarter()), True


def settle_run(
    ctx: RegistryContext, outcome: QuarterOutcome | None, *, started: datetime | None = None
) -> datetime:
    """After a plain run: the causes of the workloads it decided afresh that were recorded
    before it started are done (the run already decided with them). Returns now, so a
    caller takes its start time with ``settle_run(ctx, None)``."""
    from registry.catalog_triggers import settle_decided
    from registry.models import utcnow

    now = utcnow()
    if outcome is not None and started is not None:
        fresh = [d.workload for d in outcome.decisions if not d.reused]
        if fresh:
            with ctx.sessions.begin() as session:
                settle_decided(session, workloads=fresh, quarter=outcome.quarter, before=started)
    return now


def _nothing(request: QuarterRequest, message: str, *, as_json: bool) -> None:
    if as_json:
        from relitigate.cli.registry_cmds import print_json

        empty: dict[str, Any] = {"quarter": request.resolved_quarter(), "decisions": []}
        print_json(empty | {"failures": []})
    else:
        typer.echo(message)


def run_triggered(
    ctx: RegistryContext, request: QuarterRequest, *, as_json: bool, show: Show
) -> None:
    """Re-decide what the open trigger causes ask for, each cause once."""
    from tasks.triggers import claim_triggered, finish_triggered

    claim = claim_triggered(ctx, today=date.today())
    if not claim.workloads:
        _nothing(request, "no open trigger causes: nothing to re-decide", as_json=as_json)
        return
    if not as_json:
        for cause in claim.causes:
            typer.echo(f"trigger: {cause.workload}: {cause.cause}", err=True)
    wanted = request.model_copy(update={"workloads": claim.workloads, "force": True})
    outcome, failed = _quarter_flow(ctx, wanted)
    decided = [d.workload for d in outcome.decisions]
    finish_triggered(ctx, claim, quarter=outcome.quarter, decided=decided)
    show(outcome, as_json=as_json, table=bool(outcome.decisions))
    if failed:
        raise typer.Exit(code=1)


def challenged_workloads(ctx: RegistryContext, entry: str) -> list[str]:
    """The active workloads the catalog entry ``entry`` challenges."""
    from sqlalchemy import select

    from registry.errors import NotFoundError
    from registry.models import CatalogEntryRow

    with ctx.sessions.begin() as session:
        row = session.scalars(
            select(CatalogEntryRow).where(
                CatalogEntryRow.name == entry, CatalogEntryRow.archived_at.is_(None)
            )
        ).first()
        if row is None:
            raise NotFoundError(
                f"no catalog entry named {entry!r}: see `relitigate catalog` (declare it under "
                "`catalog:` in relitigate.yaml and `relitigate sync` it)"
            )
        return list(row.challenges or [])


def run_challenger(
    ctx: RegistryContext, request: QuarterRequest, entry: str, *, as_json: bool, show: Show
) -> None:
    """Re-decide now every workload the catalog entry challenges."""
    from registry.catalog_triggers import settle_cause

    names = challenged_workloads(ctx, entry)
    if request.workloads:
        names = [n for n in names if n in set(request.workloads)]
    if not names:
        _nothing(request, f"catalog entry {entry!r} challenges no workload", as_json=as_json)
        return
    outcome, failed = _quarter_flow(
        ctx, request.model_copy(update={"workloads": names, "force": True})
    )
    decided = [d.workload for d in outcome.decisions]
    with ctx.sessions.begin() as session:
        settle_cause(session, cause=f"catalog:{entry}", quarter=outcome.quarter, workloads=decided)
    show(outcome, as_json=as_json, table=bool(outcome.decisions))
    if failed:
        raise typer.Exit(code=1)
