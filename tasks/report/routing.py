"""The hybrid routing table: each workload's alias routed by its latest verdict. Pure.

- ``keep`` / ``watch``: the fine-tune (watch is still a keep; the notice prepares the switch).
- ``retire``: the buy alternative the decision judged against, at the route benchmarked.
- ``inconclusive``: the route stays where the newest conclusive verdict put it (the
  fine-tune when there is none): an inconclusive quarter never moves traffic.
- no decision yet: the fine-tune, which is what production runs.

:func:`model_list` turns the routes into a litellm Router ``model_list``: one deployment per
workload whose ``model_name`` is the workload's name, so callers ask for ``ticket-triage``
and the router sends it wherever the verdicts say. Keys are referenced as
``os.environ/NAME`` (litellm reads the variable at start); no secret is ever written.

Each deployment carries what was benchmarked: the candidate's generation parameters go in
``litellm_params`` (litellm passes them to every call, as ``litellm.completion`` takes them),
and its prompt (system prompt, few-shot examples, template), for which litellm has no
deployment field, in ``model_info.relitigate_prompt``; the caller must send it as measured.
The endpoint is the candidate's ``production_api_base`` when declared (a self-hosted
fine-tune is benchmarked on a GPU worker but served elsewhere), else its ``api_base``. A
self-hosted candidate with neither is left out of ``model_list`` (a ``hosted_vllm/`` route
without ``api_base`` reaches nothing) and the document says why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from tasks.report.records import Endpoint, RoutingRecord

ROUTING_SCHEMA = "relitigate.routing"
ROUTING_SCHEMA_VERSION = 1

Target = Literal["fine_tune", "buy"]


@dataclass(frozen=True, slots=True)
class Route:
    """Where one workload's traffic goes, and why."""

    workload: str
    target: Target
    endpoint: Endpoint
    verdict: str | None
    """The latest verdict (None: never decided)."""
    quarter: str | None
    """The latest decision's quarter."""
    reason: str


def route_for(record: RoutingRecord) -> Route | None:
    """The route of one workload (None: it has no fine-tune and no decided buy)."""
    verdict, quarter = record.latest_verdict, record.latest_quarter

    def to(target: Target, endpoint: Endpoint, reason: str) -> Route:
        return Route(record.workload, target, endpoint, verdict, quarter, reason)

    if record.marked_done is not None and record.latest_buy is not None:
        user, on = record.marked_done
        return to(
            "buy",
            record.latest_buy,
            f"{verdict} in {quarter}, marked done by {user} on {on}: production was switched "
            f"to the buy alternative {record.latest_buy.name}",
        )
    if verdict == "retire" and record.latest_buy is not None:
        return to(
            "buy",
            record.latest_buy,
            f"retire in {quarter}: the fine-tune's advantage has eroded; "
            f"routed to the buy alternative {record.latest_buy.name}",
        )
    if verdict == "inconclusive":
        why = record.latest_reasons[0] if record.latest_reasons else "evidence too weak"
        if record.conclusive_verdict == "retire" and record.conclusive_buy is not None:
            return to(
                "buy",
                record.conclusive_buy,
                f"inconclusive in {quarter} ({why}); the route stays on the buy "
                f"alternative set by the retire verdict of {record.conclusive_quarter}",
            )
        if record.fine_tune is None:
            return None
        since = (
            f"the {record.conclusive_verdict} verdict of {record.conclusive_quarter}"
            if record.conclusive_verdict
            else "production (no conclusive verdict yet)"
        )
        return to(
            "fine_tune",
            record.fine_tune,
            f"inconclusive in {quarter} ({why}); the route stays on the fine-tune, "
            f"as set by {since}",
        )
    if record.fine_tune is None:
        return None
    if verdict == "keep":
        reason = f"keep in {quarter}: the fine-tune's advantage holds"
    elif verdict == "watch":
        why = record.latest_deprecation or (
            record.latest_reasons[0] if record.latest_reasons else "its advantage may not hold"
        )
        reason = f"watch in {quarter} ({why}); the route stays on the fine-tune for now"
    else:
        reason = "no decision yet: the fine-tune stays in production"
    return to("fine_tune", record.fine_tune, reason)


def routes(records: Iterable[RoutingRecord]) -> list[Route]:
    """Every workload's route, in the records' order (workloads with none are left out)."""
    return [r for r in (route_for(rec) for rec in records) if r is not None]


_ROUTER_KEYS = frozenset({"model", "api_base", "api_key"})
"""``litellm_params`` keys relitigate sets itself; a candidate's params never override them."""


def serving_base(endpoint: Endpoint) -> str | None:
    """Where production calls the endpoint: its ``production_api_base``, else ``api_base``."""
    return endpoint.production_api_base or endpoint.api_base


def not_exported_because(route: Route) -> str | None:
    """Why a route cannot go into ``model_list`` (None: it can)."""
    endpoint = route.endpoint
    self_hosted = endpoint.runner != "api" or endpoint.route.startswith("hosted_vllm/")
    if self_hosted and serving_base(endpoint) is None:
        return (
            f"{endpoint.name} is self-hosted ({endpoint.route}) and declares no "
            "production_api_base: add the endpoint production serves it at"
        )
    return None


def deployment(route: Route) -> dict[str, Any]:
    """One litellm Router deployment: ``model_name`` is the workload's alias."""
    params: dict[str, Any] = {"model": route.endpoint.route}
    base = serving_base(route.endpoint)
    if base:
        params["api_base"] = base
    if route.endpoint.api_key_env:
        params["api_key"] = f"os.environ/{route.endpoint.api_key_env}"
    params |= {k: v for k, v in route.endpoint.params.items() if k not in _ROUTER_KEYS}
    prompt = {k: v for k, v in route.endpoint.prompt.items() if v not in (None, [], "")}
    return {
        "model_name": route.workload,
        "litellm_params": params,
        "model_info": {
            "id": f"relitigate:{route.workload}",
            "relitigate_target": route.target,
            "relitigate_candidate": route.endpoint.name,
            "relitigate_verdict": route.verdict,
            "relitigate_quarter": route.quarter,
            "relitigate_reason": route.reason,
            "relitigate_prompt": prompt,
        },
    }


def model_list(all_routes: Iterable[Route]) -> list[dict[str, Any]]:
    """A litellm Router ``model_list`` (also the proxy config's ``model_list``); routes that
    cannot be called (:func:`not_exported_because`) are left out."""
    return [deployment(r) for r in all_routes if not_exported_because(r) is None]


def routing_document(all_routes: list[Route], *, generated_at: str) -> dict[str, Any]:
    """The JSON form: the routes with their reasons, and the litellm ``model_list``."""
    return {
        "schema": ROUTING_SCHEMA,
        "schema_version": ROUTING_SCHEMA_VERSION,
        "generated_at": generated_at,
        "routes": [
            {
                "workload": r.workload,
                "target": r.target,
                "candidate": r.endpoint.name,
                "model": r.endpoint.route,
                "api_base": r.endpoint.api_base,
                "api_key_env": r.endpoint.api_key_env,
                "runner": r.endpoint.runner,
                "production_api_base": r.endpoint.production_api_base,
                "params": dict(r.endpoint.params),
                "prompt": dict(r.endpoint.prompt),
                "not_exported_because": not_exported_because(r),
                "verdict": r.verdict,
                "quarter": r.quarter,
                "reason": r.reason,
            }
            for r in all_routes
        ],
        "model_list": model_list(all_routes),
    }


def litellm_yaml(all_routes: list[Route], *, generated_at: str) -> str:
    """The litellm config file form: ``model_list`` only, with a header comment."""
    import yaml

    header = (
        "# relitigate routing table (litellm Router / proxy model_list).\n"
        f"# Generated {generated_at} from the latest verdicts: keep/watch -> fine-tune,\n"
        "# retire -> buy alternative, inconclusive -> unchanged. Aliases are workload names.\n"
        "# Send each deployment's model_info.relitigate_prompt with its calls: it was measured.\n"
    )
    for r in all_routes:
        why = not_exported_because(r)
        if why is not None:
            header += f"# Left out: {r.workload}: {why}.\n"
    body = yaml.safe_dump(
        {"model_list": model_list(all_routes)}, sort_keys=False, allow_unicode=True, width=100
    )
    return header + body
