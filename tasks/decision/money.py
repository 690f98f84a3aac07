"""Cost arithmetic: per call, per useful task, per month at production volume, net savings.

Conventions (stated once, used everywhere):

* A month is 30.4 days (365 / 12, rounded as the registry and memo print it).
* Cost per call is the mean cost of the side's **answered** calls. An errored call is left
  out: recorded at $0 (as most failed calls are) it would make the side look cheaper than
  the calls that did the work. A GPU-priced fine-tune uses its per-call override (GPU
  $/hour / measured calls per hour). With no answered call it is unknown (NaN).
* Cost per useful task is the cost of the answered calls / items passed (errored items
  never pass). With nothing passed it is undefined (``None``, printed as "n/a: nothing
  passed"), never zero and never a division error.
* Total cost is what the benchmark run paid, errored calls included, for the record.
* Monthly cost is cost per call x calls per day x 30.4. Net monthly savings of keeping the
  fine-tune = buy monthly - fine-tune monthly - fine-tune fixed monthly costs; positive
  means the fine-tune still saves money.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tasks.decision.types import SideResults

DAYS_PER_MONTH = 30.4


def cost_per_call(side: SideResults) -> float:
    """Per-call cost: the override when GPU-priced, else the mean over answered calls."""
    if side.cost_per_call_usd is not None:
        return float(side.cost_per_call_usd)
    answered = side.cost_usd[~side.errored]
    return float(answered.mean()) if answered.size else float("nan")


def answered_cost(side: SideResults) -> float:
    """What the answered calls cost (at the per-call override when GPU-priced)."""
    answered = int(np.count_nonzero(~side.errored))
    if side.cost_per_call_usd is not None:
        return float(side.cost_per_call_usd) * answered
    return float(side.cost_usd[~side.errored].sum())


def total_cost(side: SideResults) -> float:
    """What the side's benchmark run cost (or would at its per-call override)."""
    if side.cost_per_call_usd is not None:
        return float(side.cost_per_call_usd) * side.n_items
    return float(np.sum(side.cost_usd))


def cost_per_useful_task(total_usd: float, passed: int) -> float | None:
    """``total_usd / passed``; None when nothing passed (a useful task costs "infinity")."""
    if passed <= 0:
        return None
    return total_usd / passed


def monthly_cost(per_call_usd: float, volume_per_day: float | None) -> float | None:
    """Per-call cost at production volume over a 30.4-day month; None if volume unknown."""
    if volume_per_day is None or math.isnan(per_call_usd):
        return None
    return per_call_usd * volume_per_day * DAYS_PER_MONTH


@dataclass(frozen=True, slots=True)
class MoneySummary:
    """Both sides' money at the workload's production volume (None where volume unknown)."""

    buy: str
    """The buy alternative these figures compare with."""
    volume_per_day: float | None
    days_per_month: float
    fine_tune_cost_per_call_usd: float
    buy_cost_per_call_usd: float
    fine_tune_monthly_variable_usd: float | None
    fixed_costs_monthly_usd: float
    fine_tune_monthly_total_usd: float | None
    buy_monthly_usd: float | None
    net_monthly_savings_usd: float | None
    """Buy monthly - fine-tune monthly total. Positive: keeping the fine-tune saves money."""


def money_summary(
    fine_tune: SideResults,
    buy: SideResults,
    *,
    volume_per_day: float | None,
    fixed_costs_monthly_usd: float,
) -> MoneySummary:
    """Monthly costs and net savings of keeping the fine-tune instead of buying."""
    ft_call = cost_per_call(fine_tune)
    buy_call = cost_per_call(buy)
    ft_variable = monthly_cost(ft_call, volume_per_day)
    buy_monthly = monthly_cost(buy_call, volume_per_day)
    ft_total = None if ft_variable is None else ft_variable + fixed_costs_monthly_usd
    savings = None if ft_total is None or buy_monthly is None else buy_monthly - ft_total
    return MoneySummary(
        buy=buy.name,
        volume_per_day=volume_per_day,
        days_per_month=DAYS_PER_MONTH,
        fine_tune_cost_per_call_usd=ft_call,
        buy_cost_per_call_usd=buy_call,
        fine_tune_monthly_variable_usd=ft_variable,
        fixed_costs_monthly_usd=fixed_costs_monthly_usd,
        fine_tune_monthly_total_usd=ft_total,
        buy_monthly_usd=buy_monthly,
        net_monthly_savings_usd=savings,
    )
