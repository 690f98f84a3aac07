"""Each gate, each status; test names cite the frame rule the gate implements."""

import pytest

from tasks.decision.gates import (
    domain_margin_gate,
    domain_stability_gate,
    error_rate_gate,
    eval_items_gate,
    net_savings_gate,
    quality_ratio_gate,
    task_stability_gate,
    training_examples_gate,
    volume_gate,
)
from tasks.decision.money import money_summary
from tasks.decision.sides import summarize
from tasks.decision.stats import Estimate
from tests.decision.factory import binary, side


def _ratio(value: float, low: float, high: float) -> Estimate:
    return Estimate(value, low, high, "bootstrap")


@pytest.mark.parametrize(("n", "status"), [(199, "fail"), (200, "pass"), (1000, "pass")])
def test_frame_eval_set_needs_200_items(n: int, status: str) -> None:
    gate = eval_items_gate(n, min_items=200)
    assert gate.status == status and gate.kind == "precondition"
    assert str(n) in gate.evidence and "200" in gate.evidence


@pytest.mark.parametrize(("errors", "status"), [(10, "pass"), (11, "fail")])
def test_engine_error_rate_limit_is_per_side(errors: int, status: str) -> None:
    # 10 of 200 = 5.0% is at the limit (passes); 11 of 200 = 5.5% is above it
    s = side("buy", "buy", binary(200, 150), errored=[i < errors for i in range(200)])
    gate = error_rate_gate(summarize(s, alpha=0.05), max_error_rate=0.05)
    assert gate.name == "errors_buy"
    assert gate.status == status
    assert f"{errors} of 200" in gate.evidence


@pytest.mark.parametrize(
    ("volume", "status"),
    [(9_999_999, "fail"), (10_000_000, "pass"), (None, "unknown")],
)
def test_frame_case1_volume_threshold_10m_calls_per_day(volume: float | None, status: str) -> None:
    gate = volume_gate(volume, min_volume=10_000_000)
    assert gate.status == status
    assert "10,000,000" in gate.evidence


@pytest.mark.parametrize(
    ("stable", "changed", "status"),
    [
        (True, False, "pass"),
        (False, False, "fail"),
        (None, False, "unknown"),
        (True, True, "unknown"),  # one change is not proof of instability
        (False, True, "fail"),
    ],
)
def test_frame_case1_stability_threshold(stable: bool | None, changed: bool, status: str) -> None:
    assert task_stability_gate(stable, task_changed=changed).status == status


@pytest.mark.parametrize(
    ("low", "high", "status"),
    [
        (0.95, 1.02, "pass"),  # lower bound at the bar: non-inferior
        (0.96, 1.05, "pass"),
        (0.90, 0.949, "fail"),  # upper bound below the bar: eroded for certain
        (0.93, 0.97, "unknown"),  # straddles: borderline
        (0.80, 0.95, "unknown"),  # upper bound at the bar is not below it
    ],
)
def test_frame_case1_quality_bar_95_percent_as_non_inferiority(
    low: float, high: float, status: str
) -> None:
    gate = quality_ratio_gate(_ratio((low + high) / 2, low, high), minimum=0.95)
    assert gate.status == status
    assert f"{low:.3f}" in gate.evidence and f"{high:.3f}" in gate.evidence


@pytest.mark.parametrize(
    ("ft_cost", "fixed", "status"),
    [(0.00004, 50_000, "pass"), (0.00004, 200_000, "fail"), (0.0003, 0, "fail")],
)
def test_frame_case1_net_savings_must_be_positive(
    ft_cost: float, fixed: float, status: str
) -> None:
    # buy 182,400/month; fine-tune 24,320 + fixed: 50k -> +108,080, 200k -> -41,920;
    # equal per-call costs and no fixed costs -> 0 savings, which is not positive
    ft = side("ft", "fine_tune", binary(4, 4), cost=ft_cost)
    buy = side("buy", "buy", binary(4, 4), cost=0.0003)
    m = money_summary(ft, buy, volume_per_day=20_000_000, fixed_costs_monthly_usd=fixed)
    gate = net_savings_gate(m)
    assert gate.status == status
    assert "30.4 days" in gate.evidence


def test_frame_case1_net_savings_unknown_without_volume() -> None:
    ft = side("ft", "fine_tune", binary(4, 4))
    buy = side("buy", "buy", binary(4, 4))
    m = money_summary(ft, buy, volume_per_day=None, fixed_costs_monthly_usd=0.0)
    assert net_savings_gate(m).status == "unknown"


@pytest.mark.parametrize(
    ("low", "high", "status"),
    [
        (0.01, 0.08, "pass"),  # significantly better than the buy
        (0.0, 0.05, "unknown"),  # lower bound at the margin is not above it
        (-0.03, 0.04, "unknown"),  # a tie: advantage not shown, erosion not shown
        (-0.09, -0.01, "fail"),  # the buy is better for certain
    ],
)
def test_frame_case2_significant_margin_over_well_prompted_buy(
    low: float, high: float, status: str
) -> None:
    gate = domain_margin_gate(Estimate((low + high) / 2, low, high, "bootstrap"), margin=0.0)
    assert gate.status == status


@pytest.mark.parametrize(
    ("examples", "status"), [(9_999, "fail"), (10_000, "pass"), (None, "unknown")]
)
def test_frame_case2_10k_training_examples(examples: int | None, status: str) -> None:
    assert training_examples_gate(examples, minimum=10_000).status == status


@pytest.mark.parametrize(("stable", "status"), [(True, "pass"), (False, "fail"), (None, "unknown")])
def test_frame_case2_domain_stability(stable: bool | None, status: str) -> None:
    assert domain_stability_gate(stable).status == status


def test_every_gate_names_its_rule_and_kind() -> None:
    gate = volume_gate(1.0, min_volume=2.0)
    assert gate.rule.startswith("frame:") and gate.kind == "criterion"
    assert gate.threshold == 2.0 and gate.observed == 1.0
