"""Event triggers: what ``relitigate run --triggered`` re-decides, and the Prefect events.

The causes themselves are the registry's (:mod:`registry.catalog_triggers`): recorded once
by ``sync`` (a new eval-set version, a replaced fine-tune, a new catalog challenger) or by a
scan of deprecation dates. Two ways to act on them:

- Embedded default: ``relitigate run --triggered`` claims the open causes
  (:func:`claim_triggered`), re-decides the current quarter of their workloads, and marks
  them done (:func:`finish_triggered`); a failed workload's causes are released for the
  next triggered run.
- A Prefect server (``PREFECT_API_URL``): ``sync`` emits one Prefect event per workload with
  new causes (:func:`emit_cause_events`, ``relitigate.trigger.<kind>`` of its first cause,
  about resource ``relitigate.workload.<name>``, every cause in the payload), and the
  ``triggered`` deployment's trigger in ``deployments/prefect.yaml`` starts one run per
  event: a sync that gives a workload two causes re-decides it once. A cause handed to
  Prefect is marked done, so ``run --triggered`` does not decide it a second time.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from registry.catalog_triggers import (
    CauseRecord,
    ClaimedCause,
    claim_causes,
    finish_causes,
    record_deprecation_causes,
)
from tasks.context import RegistryContext

EVENT_PREFIX = "relitigate.trigger."
"""Every trigger event's name starts with this; the kind follows."""
RESOURCE_PREFIX = "relitigate.workload."
"""A trigger event's resource id: this, then the workload's name."""


@dataclass(frozen=True)
class TriggerClaim:
    """The causes one triggered run took."""

    token: str
    causes: tuple[ClaimedCause, ...] = ()
    recorded: tuple[CauseRecord, ...] = field(default=())
    """Deprecation causes the scan before the claim recorded."""

    @property
    def workloads(self) -> list[str]:
        """The workloads to re-decide, in the order of their first cause."""
        return list(dict.fromkeys(c.workload for c in self.causes))


def claim_triggered(ctx: RegistryContext, *, today: date) -> TriggerClaim:
    """Record deprecations entering a horizon, then claim every open cause."""
    token = secrets.token_hex(16)
    with ctx.sessions.begin() as session:
        recorded = record_deprecation_causes(session, today=today)
    with ctx.sessions.begin() as session:
        claimed = claim_causes(session, token=token)
    return TriggerClaim(token=token, causes=tuple(claimed), recorded=tuple(recorded))


def finish_triggered(
    ctx: RegistryContext, claim: TriggerClaim, *, quarter: str, decided: list[str]
) -> None:
    """Mark the claim's causes of the ``decided`` workloads done; release the others."""
    with ctx.sessions.begin() as session:
        finish_causes(session, token=claim.token, quarter=quarter, decided=decided)


def trigger_event(cause: CauseRecord, *more: CauseRecord) -> dict[str, Any]:
    """The Prefect event (``emit_event`` keyword arguments) for one workload's new causes:
    named by the first, every cause listed in the payload's ``causes``."""
    every = (cause, *more)
    if any(c.workload != cause.workload for c in every):
        raise ValueError("one trigger event is about one workload; group the causes by workload")
    return {
        "event": f"{EVENT_PREFIX}{cause.kind}",
        "resource": {
            "prefect.resource.id": f"{RESOURCE_PREFIX}{cause.workload}",
            "prefect.resource.name": cause.workload,
        },
        "payload": {
            "cause": cause.cause,
            "kind": cause.kind,
            "detail": cause.detail,
            "causes": [{"cause": c.cause, "kind": c.kind, "detail": c.detail} for c in every],
        },
    }


def by_workload(causes: Iterable[CauseRecord]) -> list[tuple[CauseRecord, ...]]:
    """``causes`` grouped by workload, in the order of each workload's first cause."""
    groups: dict[str, list[CauseRecord]] = {}
    for cause in causes:
        groups.setdefault(cause.workload, []).append(cause)
    return [tuple(group) for group in groups.values()]


TRIGGERED_DEPLOYMENT = "relitigate-quarter/triggered"
"""The deployment whose event trigger runs the causes (``deployments/prefect.yaml``)."""


def triggered_deployment_exists() -> bool:
    """Whether the Prefect server has the triggered deployment (else nothing would run the
    events, so the causes stay for ``relitigate run --triggered``)."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_deployment_by_name(TRIGGERED_DEPLOYMENT)
        except ObjectNotFound:
            return False
    return True


def emit_cause_events(causes: tuple[CauseRecord, ...]) -> list[CauseRecord]:
    """Emit one Prefect event per workload with causes when a Prefect server with the
    triggered deployment is configured (else none).

    Returns the causes emitted; the caller marks them done
    (:func:`registry.catalog_triggers.mark_emitted`), since the deployment trigger runs them.
    """
    from prefect.events import emit_event
    from prefect.events.worker import EventsWorker
    from prefect.settings import get_current_settings

    if not causes or not get_current_settings().api.url or not triggered_deployment_exists():
        return []
    # Prefect caches one events worker per process with the API it first saw: drain it so
    # these events go to the server configured now (a long-lived process may have changed it).
    EventsWorker.drain_all(timeout=5)
    emitted = [
        cause
        for group in by_workload(causes)
        if emit_event(**trigger_event(*group)) is not None
        for cause in group
    ]
    EventsWorker.drain_all()
    return emitted
