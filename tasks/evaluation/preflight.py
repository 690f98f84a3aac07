"""Checks that run before the first paid call, so bad configuration costs nothing.

:func:`check_candidate` (no network): the API key variable is set, the route resolves
through litellm, and a price is known (with ``limits.batch``: the provider has a batch API and
the price is the batch price, :func:`tasks.evaluation.batch_api.batch_plan`).
:func:`tasks.evaluation.runner.run_candidate` then sends the first pending item alone, as the
probe call: a permanent error there (bad key, unknown model, bad request) stops the run before
any other item is sent, and a good reply is kept as that item's result, so the probe is never
paid for twice.

:func:`check_endpoints` (network, nothing sent): each distinct endpoint of the checked
candidates (and of an LLM judge) accepts a TCP connection; the task layer calls it once per
workload, after every candidate passed :func:`check_candidate` and before any is benchmarked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tasks.evaluation.errors import MissingCredentialsError
from tasks.evaluation.pricing import PricePlan, price_plan
from tasks.evaluation.provider import Route, cost_map_prices, resolve_route
from tasks.evaluation.reachability import CONNECT_TIMEOUT_S, check_reachable, group_endpoints
from tasks.evaluation.types import CandidateSpec


@dataclass(frozen=True, slots=True)
class Preflight:
    """What the checks resolved, for the run to use."""

    route: Route
    plan: PricePlan
    api_key: str | None
    """Read from ``spec.api_key_env``; never logged, never stored."""

    def __repr__(self) -> str:
        return f"Preflight(route={self.route!r}, plan={self.plan!r}, api_key=***)"


def check_candidate(spec: CandidateSpec, *, env: Mapping[str, str]) -> Preflight:
    """Credentials, route and price of ``spec``; raises a ConfigurationError naming them.

    Args:
        spec: the candidate.
        env: where ``spec.api_key_env`` is looked up (the process environment, read by the
            caller at its entry point).
    """
    api_key = None
    if spec.api_key_env:
        api_key = env.get(spec.api_key_env) or None
        if api_key is None:
            raise MissingCredentialsError(
                candidate=spec.name, route=spec.route, variable=spec.api_key_env
            )
    route = resolve_route(spec)
    if spec.limits.batch:
        from tasks.evaluation.batch_api import batch_plan

        return Preflight(route=route, plan=batch_plan(spec, route), api_key=api_key)
    cost_map = None if spec.pricing is not None else cost_map_prices(route)
    return Preflight(route=route, plan=price_plan(spec, cost_map), api_key=api_key)


def check_endpoints(
    checked: Iterable[tuple[str, Preflight]],
    *,
    scorer: object = None,
    timeout_s: float = CONNECT_TIMEOUT_S,
) -> None:
    """Reach each distinct endpoint of ``checked`` (candidate name, preflight) once.

    Args:
        checked: the candidates that passed :func:`check_candidate`.
        scorer: the workload's scorer; an LLM judge's endpoint is checked too.
        timeout_s: per endpoint.

    Raises:
        EndpointUnreachableError: naming the first endpoint that refused, and its candidates.
    """
    routes = [(name, pre.route.api_base, pre.route.provider) for name, pre in checked]
    judge = getattr(scorer, "pre", None)
    if isinstance(judge, Preflight):
        routes.append(
            (f"llm judge {judge.route.route}", judge.route.api_base, judge.route.provider)
        )
    check_reachable(group_endpoints(routes), timeout_s=timeout_s)
