"""A declaration as the registry stores it: the user's form, and the hash that detects change.

Rows keep what the user wrote, in the user's names (:mod:`vocabulary`): threshold overrides
only, the scorer settings and a candidate's limits as written. ``config_hash`` covers the whole
declaration with its defaults filled in, and the eval set's content.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from registry.models import CandidateRole
from registry.workload_file import WorkloadSpec
from registry.workload_parts import CandidateSpec
from vocabulary import Limits


def candidate_values(spec: CandidateSpec, role: CandidateRole) -> dict[str, Any]:
    """The ``candidates`` columns for one declared candidate."""
    return {
        "role": role,
        "runner": spec.runner,
        "route": spec.route,
        "api_base": spec.api_base,
        "api_key_env": spec.api_key_env,
        "prompt": spec.prompt.model_dump(mode="json"),
        "params": dict(spec.params),
        "pricing": spec.pricing.model_dump(mode="json", exclude_none=True) if spec.pricing else {},
        "serving": dict(spec.serving),
        "limits": spec.limits.model_dump(mode="json", exclude_unset=True),
    }


def workload_values(spec: WorkloadSpec) -> dict[str, Any]:
    """The ``workloads`` columns for one declared workload (eval-set links and hash apart)."""
    return {
        "description": spec.description,
        "owner_email": spec.owner.email,
        "owner_slack_user": spec.owner.slack_user,
        "slack_channel": spec.owner.slack_channel,
        "case": spec.case,
        "volume_per_day": spec.volume_per_day,
        "fixed_costs_monthly_usd": spec.fixed_costs_monthly_usd,
        "training_examples": spec.training_examples,
        "task_stable": spec.task_stable,
        "domain_stable": spec.domain_stable,
        "adopted_quarter": spec.adopted,
        "thresholds": spec.threshold_overrides(),
        "scorer": spec.eval_set.scorer.model_dump(mode="json", exclude_none=True),
    }


def _hashed_limits(limits: Limits) -> dict[str, Any]:
    # Limits left unset hash as null, as they did before the limits carried the engine's
    # defaults: a registry synced then sees an unchanged file as unchanged.
    written = limits.model_dump(mode="json", exclude_unset=True)
    return {name: written.get(name) for name in Limits.model_fields}


def declared_form(spec: WorkloadSpec) -> dict[str, Any]:
    """The whole declaration, defaults filled in, as JSON values: what ``config_hash`` covers."""
    declared = spec.model_dump(mode="json")
    declared["fine_tune"]["limits"] = _hashed_limits(spec.fine_tune.limits)
    for index, buy in enumerate(spec.buy):
        declared["buy"][index]["limits"] = _hashed_limits(buy.limits)
    return declared


def canonical_json(payload: Any) -> str:
    """Sorted keys, no spaces, UTF-8 kept: one text per value."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def config_hash(spec: WorkloadSpec, *, eval_set_name: str, content_hash: str) -> str:
    """sha256 of the declaration and of its eval set's name and content hash."""
    payload = {
        "workload": declared_form(spec),
        "eval_set": {"name": eval_set_name, "hash": content_hash},
    }
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()
