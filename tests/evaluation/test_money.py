"""Pricing and budget arithmetic (no network)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tasks.evaluation.budget import Budget, max_completion_tokens, worst_case_cost
from tasks.evaluation.errors import BudgetExceeded, ConfigurationError, MissingPriceError
from tasks.evaluation.pricing import PricePlan, gpu_cost_per_call, per_million, price_plan
from tasks.evaluation.provider import TokenPrices
from tasks.evaluation.types import CandidateSpec, Pricing

pytestmark = pytest.mark.anyio
PRICES = TokenPrices(per_million("0.15"), per_million("0.60"))


def spec(pricing: Pricing | None) -> CandidateSpec:
    return CandidateSpec(name="c", route="openai/x", pricing=pricing)


def test_per_million_is_exact() -> None:
    assert per_million("0.15") == Decimal("0.00000015")
    assert PricePlan(PRICES).call_cost(1_000_000, 1_000_000) == Decimal("0.75")


@given(st.integers(0, 10**7), st.integers(0, 10**6))
def test_call_cost_is_exact_and_additive(prompt: int, completion: int) -> None:
    plan = PricePlan(PRICES)
    cost = plan.call_cost(prompt, completion)
    assert cost == PRICES.input_usd_per_token * prompt + PRICES.output_usd_per_token * completion
    assert plan.call_cost(prompt, 0) + plan.call_cost(0, completion) == cost


def test_price_plan_sources() -> None:
    own = Pricing(input_usd_per_token=Decimal("1e-6"), output_usd_per_token=Decimal("2e-6"))
    assert price_plan(spec(own), PRICES).source == "candidate"
    assert price_plan(spec(None), PRICES).tokens == PRICES
    gpu = price_plan(spec(Pricing(gpu_usd_per_hour=Decimal("2.5"), gpus=4)), None)
    assert gpu.source == "gpu_hours" and gpu.gpu_usd_per_hour == Decimal("10.0")
    assert gpu.call_cost(100, 100) == 0
    with pytest.raises(MissingPriceError, match="openai/x"):
        price_plan(spec(None), None)


@pytest.mark.parametrize(
    "pricing",
    [
        Pricing(input_usd_per_token=Decimal("1e-6")),
        Pricing(input_usd_per_token=Decimal("-1"), output_usd_per_token=Decimal("1")),
        Pricing(gpu_usd_per_hour=Decimal("1"), input_usd_per_token=Decimal("1e-6")),
        Pricing(gpu_usd_per_hour=Decimal("1"), gpus=0),
    ],
)
def test_bad_pricing_is_rejected(pricing: Pricing) -> None:
    with pytest.raises(ConfigurationError, match="candidate 'c'"):
        price_plan(spec(pricing), None)


def test_gpu_cost_per_call() -> None:
    # $3.60/hour at 1 call/s: one cent... per 10 calls: $0.001 per call
    assert gpu_cost_per_call(Decimal("3.60"), 1.0) == Decimal("0.001000000000")
    assert gpu_cost_per_call(Decimal("7.20"), 4.0) == Decimal("0.000500000000")
    with pytest.raises(ValueError):
        gpu_cost_per_call(Decimal(1), 0)


def test_worst_case_bounds_any_real_call() -> None:
    plan = PricePlan(PRICES)
    worst = worst_case_cost(plan, prompt_chars=400, messages=2, max_completion=50)
    assert worst >= plan.call_cost(400, 50)
    assert max_completion_tokens({"max_tokens": 50}) == 50
    assert max_completion_tokens({"max_completion_tokens": 7, "max_tokens": 50}) == 7
    assert max_completion_tokens({}) == 4096


async def test_budget_waits_for_in_flight_then_refuses() -> None:
    budget = Budget(Decimal("1.00"))
    await budget.reserve(Decimal("0.60"))
    waiter = asyncio.ensure_future(budget.reserve(Decimal("0.60")))
    await asyncio.sleep(0)
    assert not waiter.done()  # 0.60 + 0.60 > 1.00: waits for the call in flight
    await budget.settle(Decimal("0.60"), Decimal("0.10"))  # it cost far less
    await waiter
    assert budget.reserved == Decimal("0.60") and budget.spent == Decimal("0.10")
    await budget.settle(Decimal("0.60"), Decimal("0.50"))
    with pytest.raises(BudgetExceeded, match=r"budget cap \$1.00"):
        await budget.reserve(Decimal("0.41"))
    await budget.reserve(Decimal("0.40"))  # exactly up to the cap is allowed
    assert budget.spent + budget.reserved == Decimal("1.00")
