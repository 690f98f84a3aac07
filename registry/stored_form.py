"""A declaration as the registry stores it: the user's form, and the hash that detects change.

Rows keep what the user wrote, in the user's names (:mod:`vocabulary`): threshold overrides
only, the scorer settings and a candidate's limits as written. ``config_hash`` covers the whole
declaration with its defaults filled in, and the eval set's content.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from registry.measured_sources import measured_sources
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
        "production_api_base": spec.production_api_base,
        "base_model": spec.base_model,
    }


def workload_values(spec: WorkloadSpec) -> dict[str, Any]:
    """The ``workloads`` columns for one declared workload (eval-set links and hash apart)."""
    return {
        "description": spec.description,
        "owner_email": spec.owner.email,
        "owner_slack_user": spec.owner.slack_user,
        "slack_channel": spec.owner.slack_channel,
        "case": spec.case,
        "volume_per_day": spec.volume_per_day if isinstance(spec.volume_per_day, int) else None,
        "measured_sources": measured_sources(spec),
        "fixed_costs_monthly_usd": spec.fixed_costs_monthly_usd,
        "training_examples": spec.training_examples,
        "task_stable": spec.task_stable,
        "domain_stable": spec.domain_stable,
        "adopted_quarter": spec.adopted,
        "thresholds": spec.threshold_overrides(),
        "scorer": spec.eval_set.scorer.model_dump(mode="json", exclude_none=True),
    }


_LIMITS_HASHED_WHEN_SET = frozenset({"batch"})
"""Limits added later: hashed only when written, so a file without them keeps its hash."""


def _hashed_limits(limits: Limits) -> dict[str, Any]:
    # Limits left unset hash as null, as they did before the limits carried the engine's
    # defaults: a registry synced then sees an unchanged file as unchanged.
    written = limits.model_dump(mode="json", exclude_unset=True)
    return {
        name: written.get(name)
        for name in Limits.model_fields
        if name in written or name not in _LIMITS_HASHED_WHEN_SET
    }


def declared_form(spec: WorkloadSpec) -> dict[str, Any]:
    """The whole declaration, defaults filled in, as JSON values: what ``config_hash`` covers."""
    declared = spec.model_dump(mode="json")
    declared["fine_tune"]["limits"] = _hashed_limits(spec.fine_tune.limits)
    for index, buy in enumerate(spec.buy):
        declared["buy"][index]["limits"] = _hashed_limits(buy.limits)
    _drop_later_defaults(declared, spec)
    return declared


_CANDIDATE_FIELDS_HASHED_WHEN_SET = ("production_api_base", "base_model")
_THRESHOLDS_HASHED_WHEN_SET = frozenset({"deprecation_horizon_days", "sequential"})


def _drop_later_defaults(declared: dict[str, Any], spec: WorkloadSpec) -> None:
    """Fields added later hash only when written, so a file without them keeps its hash."""
    if spec.catalog is None:
        declared.pop("catalog", None)
    if spec.production_sample is None:
        declared.pop("production_sample", None)
    for name in _THRESHOLDS_HASHED_WHEN_SET - spec.thresholds.model_fields_set:
        declared["thresholds"].pop(name, None)
    for candidate in [declared["fine_tune"], *declared["buy"]]:
        for name in _CANDIDATE_FIELDS_HASHED_WHEN_SET:
            if candidate.get(name) is None:
                candidate.pop(name, None)


def canonical_json(payload: Any) -> str:
    """Sorted keys, no spaces, UTF-8 kept: one text per value."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def config_hash(
    spec: WorkloadSpec,
    *,
    eval_set_name: str,
    content_hash: str,
    catalog_buys: Sequence[CandidateSpec] = (),
) -> str:
    """sha256 of the declaration, of its eval set's name and content hash and of the catalog
    entries it picks (when it picks any)."""
    payload: dict[str, Any] = {
        "workload": declared_form(spec),
        "eval_set": {"name": eval_set_name, "hash": content_hash},
    }
    if catalog_buys:
        payload["catalog_buys"] = [b.model_dump(mode="json") for b in catalog_buys]
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()
