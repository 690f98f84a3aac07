"""Each gate, each status; test names cite the frame rule the gate implements."""

import pytest

from tasks.decision.comparison import BuyComparison
from tasks.decision.gates import (
    domain_stability_gate,
    error_rate_gate,
    eval_items_gate,
    task_stability_gate,
    training_examples_gate,
    volume_gate,
)
from tasks.decision.measured_gates import advantage_gate, net_savings_gate
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
    # the interval's ends are what the one-sided tests at the bar decide (comparison.py):
    # erosion p below 0.025 exactly when the upper end is below 0.95, holding when the lower
    # end is at or above it
    row = _row("buy", _ratio((low + high) / 2, low, high), p=0.01 if high < 0.95 else 0.3)
    row = BuyComparison(row.buy, row.ratio, row.difference, row.p_eroded, row.p_eroded,
                        low >= 0.95, False)  # fmt: skip
    gate = advantage_gate([row], measure="ratio", bar=0.95, alpha=0.05, correction="none")
    assert gate.status == status
    assert f"{low:.3f}" in gate.evidence and f"{high:.3f}" in gate.evidence
    assert "`buy`" in gate.evidence and "none" in gate.evidence


def _row(name: str, ratio: Estimate, *, p: float, adjusted: float | None = None) -> BuyComparison:
    diff = Estimate(0.0, -0.01, 0.01, "score")
    return BuyComparison(name, ratio, diff, p, p if adjusted is None else adjusted, False, False)


def test_several_buys_fail_only_on_the_adjusted_p_value_and_name_the_buy() -> None:
    # unadjusted 0.02 < 0.025 would erode with one buy; Holm over 3 buys makes it 0.06
    near = _ratio(0.93, 0.90, 0.949)
    rows = [_row("a", near, p=0.02, adjusted=0.06), _row("b", near, p=0.3, adjusted=0.6)]
    gate = advantage_gate(rows, measure="ratio", bar=0.95, alpha=0.05, correction="Holm")
    assert gate.status == "unknown" and "`a`" in gate.evidence and "Holm" in gate.evidence
    rows[1] = _row("b", near, p=0.001, adjusted=0.003)
    gate = advantage_gate(rows, measure="ratio", bar=0.95, alpha=0.05, correction="Holm")
    assert gate.status == "fail" and "`b`" in gate.evidence


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
    gate = net_savings_gate([m], [_row("buy", _ratio(1.0, 0.9, 1.1), p=0.5)])
    assert gate.status == status
    assert "30.4 days" in gate.evidence


def test_frame_case1_net_savings_unknown_without_volume() -> None:
    ft = side("ft", "fine_tune", binary(4, 4))
    buy = side("buy", "buy", binary(4, 4))
    m = money_summary(ft, buy, volume_per_day=None, fixed_costs_monthly_usd=0.0)
    assert net_savings_gate([m], [_row("buy", _ratio(1.0, 0.9, 1.1), p=0.5)]).status == "unknown"


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
    diff = Estimate((low + high) / 2, low, high, "score")
    row = BuyComparison("buy", _ratio(1.0, 0.9, 1.1), diff, 0.01 if high < 0 else 0.3,
                        0.01 if high < 0 else 0.3, low > 0, low > 0)  # fmt: skip
    gate = advantage_gate([row], measure="difference", bar=0.0, alpha=0.05, correction="none")
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
