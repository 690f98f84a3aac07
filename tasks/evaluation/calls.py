"""One run's calls: each item's budget reservation, paced and retried call, price and score.

:class:`RunCalls` holds what the workers of one run share (the pacer, the budget, the tally,
the :class:`~tasks.evaluation.reachability.ConnectionWatch`) and does each item's work;
:func:`tasks.evaluation.runner.run_candidate` starts the workers and closes the run.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from decimal import Decimal

from tasks.evaluation.budget import Budget, max_completion_tokens, worst_case_cost
from tasks.evaluation.errors import BudgetExceeded, TransientProviderError
from tasks.evaluation.pacing import Pacer, shared_limiter_for
from tasks.evaluation.preflight import Preflight
from tasks.evaluation.pricing import gpu_cost_per_call
from tasks.evaluation.prompt import Message, char_count, preamble, render
from tasks.evaluation.provider import Completion, Provider
from tasks.evaluation.reachability import ConnectionWatch, endpoint_of
from tasks.evaluation.retry import Attempts, RetryPolicy, call_with_retry
from tasks.evaluation.scoring import score_output
from tasks.evaluation.tally import Tally, Timing
from tasks.evaluation.types import (
    CandidateSpec,
    EvalItem,
    ItemResult,
    ProgressCallback,
    RunStatus,
    RunSummary,
    Scorer,
)
from tasks.evaluation.writer import ResultWriter


class RunCalls:
    """One run's state, and the work for each item (shared by the run's workers)."""

    def __init__(
        self,
        spec: CandidateSpec,
        pre: Preflight,
        provider: Provider,
        *,
        scorer: Scorer,
        writer: ResultWriter,
        budget: Budget,
        policy: RetryPolicy,
        progress: ProgressCallback | None,
        total: int | None,
        rng: random.Random,
        abort_after_connection: int,
        t_enter: float,
    ) -> None:
        self.spec, self.pre, self.provider, self.scorer = spec, pre, provider, scorer
        self.writer, self.budget, self.policy, self.progress = writer, budget, policy, progress
        self.rng, self.t_enter = rng, t_enter
        self.pacer = Pacer(spec.limits, shared_limiter_for(spec))
        self.head = preamble(spec.prompt)
        self.max_completion = max_completion_tokens(spec.params)
        self.t = Tally(spec.name, total)
        self.first_sent: float | None = None
        self.last_reply: float | None = None
        self.stop_reason: str | None = None
        endpoint = endpoint_of(pre.route.api_base, pre.route.provider)
        self.watch = ConnectionWatch(
            candidate=spec.name,
            endpoint=str(endpoint or f"the endpoint of route {pre.route.route!r}"),
            limit=abort_after_connection,
        )

    async def item(self, item: EvalItem) -> None:
        """Reserve the worst case, call with pacing and retries, settle the cost, record."""
        messages = render(self.spec.prompt, item, self.head)
        chars = char_count(messages)
        reserve = worst_case_cost(
            self.pre.plan,
            prompt_chars=chars,
            messages=len(messages),
            max_completion=self.max_completion,
        )
        await self.budget.reserve(reserve)
        attempts = Attempts()
        latency = [0.0]
        est_tokens = chars // 4 + 1
        try:
            completion = await call_with_retry(
                lambda: self._attempt(messages, est_tokens, latency),
                self.policy,
                attempts=attempts,
                rng=self.rng,
                on_retry_after=self.pacer.hold,
            )
        except TransientProviderError as exc:
            await self.budget.settle(reserve, Decimal(0))
            await self._record(
                ItemResult(
                    item_key=item.key,
                    output=None,
                    passed=False,
                    score=0.0,
                    prompt_tokens=0,
                    completion_tokens=0,
                    cost_usd=Decimal(0),
                    judge_cost_usd=Decimal(0),
                    latency_ms=latency[0],
                    attempts=attempts.count,
                    error=str(exc),
                    error_kind=exc.kind,
                )
            )
            if exc.kind == "connection":
                self.watch.failed_to_connect(exc)
            return
        except BaseException:
            await self.budget.settle(reserve, Decimal(0))
            raise
        cost = self.pre.plan.call_cost(completion.prompt_tokens, completion.completion_tokens)
        await self.budget.settle(reserve, cost)
        self.pacer.charge_tokens(
            completion.completion_tokens + completion.prompt_tokens - est_tokens
        )
        await self._record(await self._score(item, completion, cost, latency[0], attempts.count))

    async def _attempt(
        self, messages: list[Message], est_tokens: int, latency: list[float]
    ) -> Completion:
        async with self.pacer.slot(est_tokens):
            t0 = time.perf_counter()
            if self.first_sent is None:
                self.first_sent = t0
            try:
                return await self.provider.complete(messages)
            finally:
                now = time.perf_counter()
                latency[0] = (now - t0) * 1000
                self.last_reply = now

    async def _score(
        self, item: EvalItem, c: Completion, cost: Decimal, latency_ms: float, attempts: int
    ) -> ItemResult:
        return await score_output(
            self.scorer, item, c.text, prompt_tokens=c.prompt_tokens,
            completion_tokens=c.completion_tokens, cost_usd=cost, latency_ms=latency_ms,
            attempts=attempts, model_version=c.model_version,
        )  # fmt: skip

    async def release_held(self) -> None:
        """Hand held-back connection failures to the sink (the endpoint did answer)."""
        for r in self.watch.release():
            await self.writer.add(r)

    async def _record(self, r: ItemResult) -> None:
        update = self.t.add(r)
        for ready in self.watch.admit(r):  # connection failures wait for a reply
            await self.writer.add(ready)
        if self.progress is not None:
            self.progress(update)

    async def worker(self, pending: Iterator[EvalItem]) -> None:
        """Call the pending items one at a time until none is left or the budget is spent."""
        for item in pending:
            if self.stop_reason is not None:
                self.t.not_started += 1
                return
            try:
                await self.item(item)
            except BudgetExceeded as exc:
                self.t.not_started += 1
                self.stop_reason = str(exc)
                return

    def summary(self, status: RunStatus, reason: str | None) -> RunSummary:
        """The run's summary so far (timing measured from the first request sent)."""
        first = self.first_sent if self.first_sent is not None else time.perf_counter()
        wall = (self.last_reply - first) if self.last_reply is not None else 0.0
        throughput = self.t.done / wall if wall > 0 else 0.0
        gpu = self.pre.plan.gpu_usd_per_hour
        per_call = (
            gpu_cost_per_call(gpu, throughput) if gpu is not None and throughput > 0 else None
        )
        timing = Timing(
            startup_s=first - self.t_enter,
            wall_s=wall,
            throughput_items_per_s=throughput,
            gpu_cost_per_call_usd=per_call,
        )
        return self.t.summary(route=self.spec.route, status=status, reason=reason, timing=timing)
