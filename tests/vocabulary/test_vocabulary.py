"""One vocabulary: the workloads file, the registry and the engines share each definition."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, get_args, get_type_hints

import pytest
from pydantic import ValidationError

from vocabulary import BIGINT_MAX, Limits, Thresholds

ROOT = Path(__file__).resolve().parents[2]

# value -> accepted?, at and around every bound the engines rely on
THRESHOLD_BOUNDS: dict[str, list[tuple[Any, bool]]] = {
    "quality_ratio_min": [(-1.0, False), (0.0, False), (1e-9, True), (2.0, True), (2.5, False)],
    "min_volume_per_day": [(-1, False), (0, True), (BIGINT_MAX, True), (BIGINT_MAX + 1, False)],
    "min_training_examples": [(-1, False), (0, True), (BIGINT_MAX + 1, False)],
    "min_items": [(0, False), (1, True), (10**9, True)],
    "max_error_rate": [(-0.01, False), (0.0, True), (0.999, True), (1.0, False)],
    "warning_horizon_quarters": [(-1, False), (0, True), (40, True), (41, False)],
    "significance_alpha": [(0.0, False), (1e-9, True), (0.999, True), (1.0, False)],
    "domain_margin_min": [(-0.1, False), (0.0, True), (1.0, True), (1.1, False)],
    "deprecation_horizon_days": [(-1, False), (0, True), (3650, True), (3651, False)],
    "sequential": [(True, True), (False, True), ("maybe", False)],
}


def test_the_bounds_table_covers_every_threshold() -> None:
    assert set(THRESHOLD_BOUNDS) == set(Thresholds.model_fields)


@pytest.mark.parametrize(
    ("name", "value", "accepted"),
    [
        *((n, v, ok) for n, cases in THRESHOLD_BOUNDS.items() for v, ok in cases),
        *((n, v, False) for n in THRESHOLD_BOUNDS for v in (math.nan, math.inf, -math.inf)),
    ],
)
def test_threshold_bounds(name: str, value: Any, accepted: bool) -> None:
    if accepted:
        assert getattr(Thresholds.model_validate({name: value}), name) == value
        return
    with pytest.raises(ValidationError) as info:
        Thresholds.model_validate({name: value})
    assert info.value.errors()[0]["loc"] == (name,)


def test_file_registry_and_engines_share_one_definition_of_each_concept() -> None:
    from registry.models import ErrorKind as StoredErrorKind
    from registry.workload_file import WorkloadSpec
    from registry.workload_parts import CandidateSpec, EvalSetRef
    from tasks.decision.types import WorkloadPolicy
    from tasks.evaluation.types import CandidateSpec as EngineCandidate
    from tasks.evaluation.types import ItemResult
    from vocabulary import ErrorKind, ScorerSettings

    assert WorkloadSpec.model_fields["thresholds"].annotation is Thresholds
    assert get_type_hints(WorkloadPolicy)["thresholds"] is Thresholds
    assert CandidateSpec.model_fields["limits"].annotation is Limits
    assert get_type_hints(EngineCandidate)["limits"] is Limits
    assert EvalSetRef.model_fields["scorer"].annotation == get_args(ScorerSettings)[0]
    assert StoredErrorKind is ErrorKind
    assert get_type_hints(ItemResult)["error_kind"] == ErrorKind | None


def test_the_decision_cores_literal_kinds_spell_the_shared_enumerations() -> None:
    from tasks.decision import types
    from vocabulary import CandidateRole, Case, Verdict

    assert set(get_args(types.Case)) == {c.value for c in Case}
    assert set(get_args(types.Role)) == {r.value for r in CandidateRole}
    assert tuple(v.value for v in Verdict) == types.VERDICTS


@pytest.mark.parametrize(
    ("written", "stored", "effective"),
    [
        ({}, {}, (32, None, 60.0, 5)),
        ({"concurrency": 4, "rpm": None}, {"concurrency": 4}, (4, None, 60.0, 5)),
        ({"rpm": 600, "max_attempts": 2}, {"rpm": 600, "max_attempts": 2}, (32, 600, 60.0, 2)),
    ],
)
def test_limits_store_what_was_written_and_fill_in_the_engine_defaults(
    written: dict[str, Any], stored: dict[str, Any], effective: tuple[Any, ...]
) -> None:
    limits = Limits.model_validate(written)
    assert limits.model_dump(mode="json", exclude_unset=True) == stored
    assert (limits.concurrency, limits.rpm, limits.timeout_s, limits.max_attempts) == effective


@pytest.mark.parametrize(
    ("field", "value"),
    [("concurrency", 0), ("concurrency", 10_001), ("rpm", 0), ("timeout_s", 0), ("timeout_s", 1e9),
     ("max_attempts", 21), ("bogus", 1)],
)  # fmt: skip
def test_limits_refuse_what_the_engine_cannot_honour(field: str, value: Any) -> None:
    with pytest.raises(ValidationError):
        Limits.model_validate({field: value})


# sha256 of each example workload's declaration as earlier releases hashed it (the part of
# ``config_hash`` before the eval set is mixed in): a registry they synced must find the same
# file unchanged.
EARLIER_DECLARATION_HASHES = {
    "ticket-triage": "fe925ff0b3a28f8d23b857bc4f79d136b0807ec23626a9e5a6069acca00fb798",
    "contract-clauses": "fc9dc3b2579b5fbace92eb3c0420bb8124d1a693ee3d6768e96fb8983744c438",
}


def test_config_hashes_of_earlier_registries_stay_valid() -> None:
    import hashlib

    from registry.stored_form import canonical_json, declared_form
    from registry.workload_file import load_workload_file

    workloads = load_workload_file(ROOT / "examples" / "relitigate.yaml").workloads
    assert {w.name for w in workloads} == set(EARLIER_DECLARATION_HASHES)
    for spec in workloads:
        text = canonical_json(declared_form(spec))
        assert hashlib.sha256(text.encode()).hexdigest() == EARLIER_DECLARATION_HASHES[spec.name]


def test_the_vocabulary_imports_pydantic_and_the_standard_library_only() -> None:
    import ast
    import sys

    # pydantic_core is pydantic's own compiled core (its error types live there)
    allowed = {"pydantic", "pydantic_core", "vocabulary", "__future__"}
    for path in (ROOT / "vocabulary").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in allowed or top in sys.stdlib_module_names, f"{path.name}: {name}"
