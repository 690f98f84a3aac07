"""A per-run spending cap that stops a run *before* a call could take it over.

Before each call the runner reserves the call's worst-case cost (prompt characters as an
upper bound on prompt tokens, plus the ``max_tokens`` limit, or ``DEFAULT_MAX_COMPLETION``
when the candidate sets none). When that does not fit under the cap it waits for calls in
flight to settle (their actual cost is usually far below the reservation); when nothing is
in flight and it still does not fit, :class:`BudgetExceeded` ends the run, which is then
marked ``incomplete`` with the reason.

The cap covers the candidate's own calls, which are token-priced; an LLM judge's cost is
counted apart (``judge_cost_usd``), and GPU-hour pricing has no per-call cost to cap.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from tasks.evaluation.errors import BudgetExceeded
from tasks.evaluation.pricing import PricePlan

DEFAULT_MAX_COMPLETION = 4096
"""Completion tokens assumed for the worst case when the candidate sets no ``max_tokens``."""
PER_MESSAGE_OVERHEAD = 8
"""Prompt tokens a chat template may add per message (role markers), for the worst case."""


def max_completion_tokens(params: Mapping[str, Any]) -> int:
    """The completion-token limit a candidate's parameters set (or the default)."""
    for key in ("max_completion_tokens", "max_tokens"):
        value = params.get(key)
        if isinstance(value, int) and value > 0:
            return value
    return DEFAULT_MAX_COMPLETION


def worst_case_cost(
    plan: PricePlan, *, prompt_chars: int, messages: int, max_completion: int
) -> Decimal:
    """The most one call can cost: a token is at least one character."""
    return plan.call_cost(prompt_chars + PER_MESSAGE_OVERHEAD * messages + 16, max_completion)


class Budget:
    """Spend plus reservations, held under ``cap_usd`` (None: no cap, only accounting)."""

    def __init__(self, cap_usd: Decimal | None) -> None:
        self.cap = cap_usd
        self.spent = Decimal(0)
        self.reserved = Decimal(0)
        self._in_flight = 0
        self._settled = asyncio.Condition()

    async def reserve(self, amount: Decimal) -> None:
        """Reserve ``amount``, waiting for calls in flight if needed; or raise BudgetExceeded."""
        if self.cap is None:
            self._in_flight += 1
            self.reserved += amount
            return
        async with self._settled:
            while self.spent + self.reserved + amount > self.cap:
                if self._in_flight == 0:
                    raise BudgetExceeded(cap_usd=self.cap, spent_usd=self.spent, needed_usd=amount)
                await self._settled.wait()
            self._in_flight += 1
            self.reserved += amount

    async def settle(self, reserved: Decimal, actual: Decimal) -> None:
        """Release a reservation and book the call's actual cost."""
        self.reserved -= reserved
        self.spent += actual
        self._in_flight -= 1
        if self.cap is not None:
            async with self._settled:
                self._settled.notify_all()
