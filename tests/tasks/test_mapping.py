"""Registry rows -> engine values: the task layer's conversions, checked without a database."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import pytest

from registry.models import Candidate, CandidateRole, Case, Runner, Workload
from registry.runs import RunItemResult
from tasks import mapping
from tasks.decision.errors import InvalidInputsError
from tasks.declaration_check import check_declaration
from tasks.evaluation.errors import ConfigurationError
from tasks.evaluation.types import ItemResult, Pricing
from vocabulary import ErrorKind
from vocabulary import Pricing as DeclaredPricing


def _result(key: str, **kw: Any) -> RunItemResult:
    base: dict[str, Any] = dict(
        item_id=1, item_key=key, position=0, input="x", target="y", metadata={},
        has_result=True, output="y", passed=True, score=1.0, prompt_tokens=10,
        completion_tokens=2, cost_usd=0.001, judge_cost_usd=0.0, latency_ms=5.0, attempts=1,
        error=None, error_kind=None, judge=None,
    )  # fmt: skip
    base.update(kw)
    return RunItemResult(**base)


def _candidate(**kw: Any) -> Candidate:
    base: dict[str, Any] = dict(
        name="ft", role=CandidateRole.FINE_TUNE, runner=Runner.API, route="openai/ft",
        api_base="http://127.0.0.1:9/v1", api_key_env="FT_KEY",
        prompt={"system": "Be brief.", "few_shot": [{"input": "a", "output": "b"}],
                "template": "Q: {input}"},
        params={"max_tokens": 8}, pricing={"input_per_mtok": 0.5, "output_per_mtok": 1.5},
        serving={}, limits={"concurrency": 4, "rpm": None},
    )  # fmt: skip
    base.update(kw)
    return Candidate(**base)


def test_candidate_spec_carries_prompt_limits_and_exact_per_token_prices() -> None:
    spec = mapping.candidate_spec(_candidate())
    assert spec.prompt.system == "Be brief." and spec.prompt.template == "Q: {input}"
    assert spec.prompt.few_shot[0].output == "b"
    assert spec.limits.concurrency == 4 and spec.limits.rpm is None
    assert spec.pricing is not None
    assert spec.pricing.input_usd_per_token == Decimal("0.0000005")
    assert spec.pricing.output_usd_per_token == Decimal("0.0000015")
    assert spec.api_key_env == "FT_KEY"


def test_candidate_limits_are_the_declared_ones_with_the_engine_defaults() -> None:
    spec = mapping.candidate_spec(_candidate(limits={"timeout_s": 5}))
    assert (spec.limits.timeout_s, spec.limits.concurrency, spec.limits.max_attempts) == (5, 32, 5)


def test_gpu_pricing_maps_to_gpu_hours() -> None:
    pricing = Pricing.from_declared(DeclaredPricing(gpu_hourly_usd=2.5, gpus=2))
    assert pricing is not None and pricing.gpu_usd_per_hour == Decimal("2.5") and pricing.gpus == 2
    assert Pricing.from_declared(None) is None
    assert mapping.candidate_spec(_candidate(pricing={})).pricing is None


def test_a_stored_setting_the_vocabulary_refuses_names_candidate_and_field() -> None:
    with pytest.raises(ConfigurationError, match=r"'ft'.*limits\.concurrency = 0"):
        mapping.candidate_spec(_candidate(limits={"concurrency": 0}))


def test_items_without_a_result_count_as_errored_never_dropped() -> None:
    results = [
        _result("a"),
        _result("b", passed=False, score=0.0),
        _result("c", has_result=False, output=None, passed=None, score=None, cost_usd=0.0),
        _result("d", error="HTTP 500", error_kind="server", passed=None, score=None),
    ]
    side = mapping.side_results(_candidate(), results, model_version="v1")
    assert side.item_keys == ("a", "b", "c", "d")
    assert side.errored.tolist() == [False, False, True, True]
    assert side.passed.tolist() == [True, False, False, False]
    assert math.isnan(side.scores[2]) and side.scores[1] == 0.0
    assert side.cost_usd.sum() == pytest.approx(0.003)


def test_stored_threshold_overrides_reach_the_engine_under_the_same_names() -> None:
    stored = {"significance_alpha": 0.01, "domain_margin_min": 0.05, "min_items": 300}
    t = mapping.policy(_workload(thresholds=stored)).thresholds
    assert (t.significance_alpha, t.domain_margin_min, t.min_items) == (0.01, 0.05, 300)
    assert t.quality_ratio_min == 0.95  # the guide's default stays


def test_a_stored_threshold_the_engine_refuses_is_a_decision_input_error() -> None:
    with pytest.raises(InvalidInputsError, match=r"thresholds\.max_error_rate") as info:
        mapping.policy(_workload(thresholds={"max_error_rate": 1.0}))
    assert info.value.field == "thresholds.max_error_rate" and info.value.value == 1.0


@pytest.mark.parametrize(
    ("error_kind", "stored"),
    [
        (ErrorKind.CONNECTION, ErrorKind.CONNECTION),
        (ErrorKind.SCORER, ErrorKind.SCORER),
        (ErrorKind.RATE_LIMIT, ErrorKind.RATE_LIMIT),
        (None, ErrorKind.OTHER),
    ],
)
def test_an_errored_result_keeps_its_kind(error_kind: ErrorKind | None, stored: ErrorKind) -> None:
    result = ItemResult(
        item_key="a", output=None, passed=False, score=0.0, prompt_tokens=0,
        completion_tokens=0, cost_usd=Decimal(0), judge_cost_usd=Decimal(0), latency_ms=1.0,
        attempts=5, error="boom", error_kind=error_kind,
    )  # fmt: skip
    assert mapping.result_row(result).error_kind == stored


def test_policy_from_a_workload_row() -> None:
    w = Workload(
        name="w", case=Case.DOMAIN_EXPERTISE, volume_per_day=5, fixed_costs_monthly_usd=10.0,
        training_examples=12_000, task_stable=True, domain_stable=False,
        adopted_quarter="2025Q1", thresholds={"quality_ratio_min": 0.9},
    )  # fmt: skip
    p = mapping.policy(w)
    assert p.case == "domain_expertise" and p.domain_stable is False
    assert p.thresholds.quality_ratio_min == 0.9 and p.training_examples == 12_000


def test_history_point_reads_what_the_decide_task_stores() -> None:
    metrics = {
        "ratio": {"value": 1.1},
        "difference": {"value": 0.05},
        "fine_tune": {"quality": {"value": 0.9}, "cost_per_useful_task_usd": 0.001},
        "buy": {"name": "frontier", "quality": {"value": 0.8}, "cost_per_useful_task_usd": None},
    }
    cost = mapping.history_point("2026Q1", "keep", metrics, "cost_distillation")
    domain = mapping.history_point("2026Q1", "keep", metrics, "domain_expertise")
    assert cost.advantage == 1.1 and domain.advantage == 0.05
    assert cost.buy_name == "frontier" and cost.fine_tune_quality == 0.9
    assert mapping.history_point("2026Q1", "keep", {}, "cost_distillation").advantage is None


# -- sync applies the engines' rules ---------------------------------------------------


def _workload(**kw: Any) -> Workload:
    base: dict[str, Any] = dict(
        name="w", case=Case.COST_DISTILLATION, volume_per_day=5, fixed_costs_monthly_usd=0.0,
        training_examples=None, task_stable=True, domain_stable=True, adopted_quarter="2025Q1",
        thresholds={}, scorer={"kind": "exact"},
    )  # fmt: skip
    base.update(kw)
    return Workload(**base)


@pytest.mark.parametrize(
    ("workload", "candidates", "field"),
    [
        (_workload(thresholds={"max_error_rate": 1.0}), {}, "thresholds.max_error_rate"),
        (_workload(thresholds={"significance_alpha": 1.0}), {}, "thresholds.significance_alpha"),
        (_workload(adopted_quarter="2025Q9"), {}, "adopted"),
        (_workload(scorer={"kind": "regex", "pattern": "("}), {}, "eval_set.scorer"),
        (
            _workload(scorer={"kind": "python", "callable": "m:f", "options": {"x": 1}}),
            {},
            "eval_set.scorer",
        ),
        (_workload(), {"buy[1]": _candidate(limits={"bogus": 1})}, "buy[1]"),
        (
            _workload(),
            {"fine_tune": _candidate(runner=Runner.VLLM, serving={"batch_size": 0})},
            "fine_tune.serving",
        ),
    ],
)
def test_check_declaration_names_the_field_as_written_in_the_file(
    workload: Workload, candidates: dict[str, Candidate], field: str
) -> None:
    problem = check_declaration(workload, candidates)
    assert problem is not None and problem.field == field, problem


def test_check_declaration_passes_a_sound_workload_without_credentials_or_imports() -> None:
    judge = {"kind": "llm_judge", "route": "openai/judge", "rubric": "r", "api_key_env": "NOPE"}
    scorer_ok = check_declaration(_workload(scorer=judge), {"fine_tune": _candidate()})
    python = {"kind": "python", "callable": "not_installed.module:score", "options": {}}
    assert scorer_ok is None
    assert check_declaration(_workload(scorer=python), {}) is None
