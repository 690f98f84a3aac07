"""What the decide task reads for deprecations: the dates of the workload's routes.

The dates were stored by ``sync`` (``route_deprecations``: declared in the workloads file,
else litellm's price map); the judgement is :mod:`tasks.decision.deprecations`.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from registry.catalog import route_dates
from registry.catalog_triggers import horizon_days
from registry.queries import WorkloadBundle
from tasks.decision.deprecations import DeprecationReview, RouteDeprecation, review_deprecations
from tasks.decision.types import DecisionInputs


def deprecation_review(
    session: Session, bundle: WorkloadBundle, inputs: DecisionInputs, *, today: date
) -> DeprecationReview:
    """The deprecations in the workload's horizon, for its fine-tune and this quarter's buys."""
    buys = [(side.name, side.route) for side in inputs.buys]
    fine_tune = bundle.fine_tune
    routes = [fine_tune.route, *(route for _, route in buys)]
    if fine_tune.base_model:
        routes.append(fine_tune.base_model)
    dates = {
        route: RouteDeprecation(route, when.deprecation_date, when.source)
        for route, when in route_dates(session, routes).items()
    }
    return review_deprecations(
        buys,
        fine_tune_route=fine_tune.route,
        base_model=fine_tune.base_model,
        dates=dates,
        today=today,
        horizon_days=horizon_days(bundle.workload),
    )
