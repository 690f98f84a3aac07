"""The deprecations view: every route an active workload depends on that has a date.

One row per (workload, candidate, route): a buy alternative's route, the fine-tune's serving
route and its declared base model. Dates are those ``sync`` stored (declared in the workloads
file, else litellm's price map); ``in_horizon`` uses each workload's
``deprecation_horizon_days``, as the decision does (``tasks/decision/deprecations.py``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.catalog import route_dates
from registry.catalog_triggers import horizon_days
from registry.models import CandidateRole, Workload
from tasks.decision.deprecations import in_horizon

_EFFECT = {
    "buy": "leaves the comparison (the best remaining buy is compared)",
    "fine_tune": "keep becomes watch; the decision and its notice name the date",
    "base_model": "keep becomes watch; the decision and its notice name the date",
}


def _uses(workload: Workload) -> list[tuple[str, str, str]]:
    """(role, candidate, route) of each route the workload depends on."""
    uses = []
    for c in workload.candidates:
        if c.archived_at is not None:
            continue
        role = "fine_tune" if c.role == CandidateRole.FINE_TUNE else "buy"
        uses.append((role, c.name, c.route))
        if role == "fine_tune" and c.base_model:
            uses.append(("base_model", c.name, c.base_model))
    return uses


def deprecation_rows(session: Session, *, today: date) -> list[dict[str, Any]]:
    """The view's rows, soonest date first."""
    rows = []
    workloads = session.scalars(
        select(Workload).where(Workload.archived_at.is_(None)).order_by(Workload.name)
    )
    for workload in workloads:
        uses = _uses(workload)
        dates = route_dates(session, [route for _, _, route in uses])
        horizon = horizon_days(workload)
        for role, candidate, route in uses:
            when = dates.get(route)
            if when is None:
                continue
            due = in_horizon(when.deprecation_date, today=today, horizon_days=horizon)
            rows.append(
                {
                    "workload": workload.name,
                    "role": role,
                    "candidate": candidate,
                    "route": route,
                    "deprecation_date": when.deprecation_date.isoformat(),
                    "source": when.source,
                    "days_left": (when.deprecation_date - today).days,
                    "horizon_days": horizon,
                    "in_horizon": due,
                    "effect": _EFFECT[role] if due else "",
                }
            )
    return sorted(rows, key=lambda r: (r["deprecation_date"], r["workload"], r["route"]))
