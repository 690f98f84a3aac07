"""What the plan, the looks and the decide task read for deprecations: the dates of the
workload's routes, and the workload with only the buys that stay in the comparison.

The dates were stored by ``sync`` (``route_deprecations``: declared in the workloads file,
else litellm's price map); the judgement is :mod:`tasks.decision.deprecations`. The plan
(:mod:`tasks.plan`) and the decision call :func:`compared_workload` with the same day, so a
buy that leaves the comparison is neither benchmarked nor expected to have a run.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from registry.catalog import route_dates
from registry.catalog_triggers import horizon_days
from registry.queries import WorkloadBundle
from tasks.decision.deprecations import (
    DeprecationReview,
    RouteDeprecation,
    compared_buys,
    review_deprecations,
)


@dataclass(frozen=True)
class ComparedWorkload:
    """A workload as one quarter compares it."""

    bundle: WorkloadBundle
    """The workload with only the buy alternatives that stay in the comparison."""
    review: DeprecationReview
    """The deprecations in its horizon (which buys left and why, the fine-tune's dates)."""


def deprecation_review(
    session: Session, bundle: WorkloadBundle, *, today: date
) -> DeprecationReview:
    """The deprecations in the workload's horizon, for its fine-tune and its active buys."""
    buys = [(c.name, c.route) for c in bundle.buy]
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


def compared_workload(session: Session, bundle: WorkloadBundle, *, today: date) -> ComparedWorkload:
    """``bundle`` without the buys that leave the comparison on ``today``, and the review."""
    review = deprecation_review(session, bundle, today=today)
    kept = set(compared_buys([c.name for c in bundle.buy], review))
    if len(kept) == len(bundle.buy):
        return ComparedWorkload(bundle, review)
    buy = tuple(c for c in bundle.buy if c.name in kept)
    return ComparedWorkload(dataclasses.replace(bundle, buy=buy), review)
