import math

import pytest

from tasks.decision.money import (
    DAYS_PER_MONTH,
    answered_cost,
    cost_per_call,
    cost_per_useful_task,
    money_summary,
    monthly_cost,
    total_cost,
)
from tests.decision.factory import binary, side


def test_days_per_month_is_stated() -> None:
    assert DAYS_PER_MONTH == 30.4


def test_cost_per_call_and_per_useful_task_worked_example() -> None:
    # 4 items costing 0.001, 0.002, 0.003, 0.002 -> total 0.008, per call 0.002;
    # 2 items passed -> 0.004 per useful task
    s = side("buy", "buy", [1, 1, 0, 0], cost=[0.001, 0.002, 0.003, 0.002])
    assert cost_per_call(s) == pytest.approx(0.002)
    assert total_cost(s) == pytest.approx(0.008)
    assert cost_per_useful_task(total_cost(s), 2) == pytest.approx(0.004)


def test_nothing_passed_gives_no_cost_per_useful_task_instead_of_a_crash() -> None:
    assert cost_per_useful_task(0.5, 0) is None


def test_errored_calls_never_make_a_side_cheaper() -> None:
    # an errored call recorded at $0 is left out: 0.003 / 2 answered = 0.0015 per call, not
    # 0.003 / 3 = 0.001; the run's total still records what was paid
    s = side("buy", "buy", [1, 1, 0], errored=[False, False, True], cost=[0.0015, 0.0015, 0.0])
    assert cost_per_call(s) == pytest.approx(0.0015)
    assert total_cost(s) == pytest.approx(0.003)
    assert answered_cost(s) == pytest.approx(0.003)


def test_no_answered_call_leaves_cost_per_call_unknown_not_zero() -> None:
    s = side("buy", "buy", [0, 0], errored=[True, True], cost=[0.0, 0.0])
    assert math.isnan(cost_per_call(s))
    assert monthly_cost(cost_per_call(s), 1e7) is None


def test_gpu_priced_fine_tune_uses_its_per_call_override() -> None:
    # $3.20/hour at 24.5 items/s: 3.20 / 3600 / 24.5 = $0.0000362812 per call
    per_call = 3.20 / 3600 / 24.5
    s = side("ft", "fine_tune", binary(10, 7), cost=0.0, cost_per_call_usd=per_call)
    assert cost_per_call(s) == pytest.approx(0.0000362812, rel=1e-6)
    assert total_cost(s) == pytest.approx(10 * per_call)


def test_monthly_cost_worked_example() -> None:
    # $0.0003 per call x 20M calls/day x 30.4 days = $182,400
    assert monthly_cost(0.0003, 20_000_000) == pytest.approx(182_400)
    assert monthly_cost(0.0003, None) is None


def test_net_savings_worked_example() -> None:
    # buy: 0.0003 x 20M x 30.4 = 182,400; fine-tune: 0.00004 x 20M x 30.4 = 24,320;
    # fixed 50,000 -> keeping the fine-tune saves 182,400 - 24,320 - 50,000 = 108,080/month
    ft = side("ft", "fine_tune", binary(4, 4), cost=0.00004)
    buy = side("buy", "buy", binary(4, 4), cost=0.0003)
    m = money_summary(ft, buy, volume_per_day=20_000_000, fixed_costs_monthly_usd=50_000)
    assert m.buy_monthly_usd == pytest.approx(182_400)
    assert m.fine_tune_monthly_variable_usd == pytest.approx(24_320)
    assert m.fine_tune_monthly_total_usd == pytest.approx(74_320)
    assert m.net_monthly_savings_usd == pytest.approx(108_080)


def test_unknown_volume_leaves_monthly_figures_unknown() -> None:
    ft = side("ft", "fine_tune", binary(4, 4))
    buy = side("buy", "buy", binary(4, 4))
    m = money_summary(ft, buy, volume_per_day=None, fixed_costs_monthly_usd=1.0)
    assert m.net_monthly_savings_usd is None and m.buy_monthly_usd is None
