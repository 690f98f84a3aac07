"""One engine call's provider batches: submit or find them, poll them, collect their lines.

:class:`BatchRun` does the steps :mod:`tasks.evaluation.batch_runner` describes, for every
batch of one call; :func:`~tasks.evaluation.batch_runner.run_batch_candidate` builds it and
closes the run.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import TypeVar

from tasks.evaluation.batch_api import BatchAPI, ProviderBatch
from tasks.evaluation.batch_ledger import BatchEntry, BatchLedger
from tasks.evaluation.batch_lines import LineOutcome, missing, parse_lines, request_file
from tasks.evaluation.budget import max_completion_tokens, worst_case_cost
from tasks.evaluation.errors import PermanentProviderError, ProviderError
from tasks.evaluation.preflight import Preflight
from tasks.evaluation.prompt import char_count, preamble, render
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

T = TypeVar("T")

MAX_BATCH_REQUESTS = 50_000
"""Request lines per batch at most (OpenAI's limit): a larger call is split into batches."""


@dataclass(frozen=True, slots=True)
class Polling:
    """How often a submitted batch is looked at: ``first_s``, growing by ``factor`` up to
    ``max_s`` (a batch takes minutes to hours; a look costs nothing)."""

    first_s: float = 0.5
    max_s: float = 60.0
    factor: float = 1.5


class BatchRun:
    """One engine call's batches: submit or find them, poll them, collect their lines."""

    def __init__(
        self,
        spec: CandidateSpec,
        pre: Preflight,
        api: BatchAPI,
        ledger: BatchLedger,
        *,
        pending: dict[str, EvalItem],
        answered: frozenset[str],
        scorer: Scorer,
        writer: ResultWriter,
        progress: ProgressCallback | None,
        policy: RetryPolicy,
        polling: Polling,
        rng: random.Random,
    ) -> None:
        self.spec, self.pre, self.api, self.ledger = spec, pre, api, ledger
        self.pending, self.answered, self.scorer, self.writer = pending, answered, scorer, writer
        self.progress, self.policy, self.polling, self.rng = progress, policy, polling, rng
        self.head = preamble(spec.prompt)
        self.t = Tally(spec.name, len(pending))
        self.fresh: set[str] = set()
        self.first_sent: float | None = None
        self.last_reply: float | None = None
        self.stop_reason: str | None = None
        self._scoring = asyncio.Semaphore(spec.limits.concurrency)

    async def _retried(self, fn: Callable[[], Awaitable[T]]) -> T:
        return await call_with_retry(fn, self.policy, attempts=Attempts(), rng=self.rng)

    async def plan(self, cap: Decimal | None) -> list[BatchEntry]:
        """The open batches that cover pending items, and a new batch for the rest (one per
        :data:`MAX_BATCH_REQUESTS` items). An open batch whose items all have results (a kill
        came after they were written) is marked collected."""
        entries = []
        for e in await self.ledger.open_batches():
            if any(k in self.pending for k in e.item_keys):
                entries.append(e)
            elif all(k in self.answered for k in e.item_keys):
                await self.ledger.record(e.client_key, collected=True)
        covered = {k for e in entries for k in e.item_keys if k in self.pending}
        rest = [item for key, item in self.pending.items() if key not in covered]
        if cap is not None:
            rest = self._affordable(
                rest, cap, sum((self._worst(self.pending[k]) for k in covered), Decimal(0))
            )
        for start in range(0, len(rest), MAX_BATCH_REQUESTS):
            keys = [i.key for i in rest[start : start + MAX_BATCH_REQUESTS]]
            entry = await self.ledger.reserve(self.pre.route.provider, keys)
            self.fresh.add(entry.client_key)
            entries.append(entry)
        return entries

    def _worst(self, item: EvalItem) -> Decimal:
        messages = render(self.spec.prompt, item, self.head)
        return worst_case_cost(
            self.pre.plan, prompt_chars=char_count(messages), messages=len(messages),
            max_completion=max_completion_tokens(self.spec.params),
        )  # fmt: skip

    def _affordable(
        self, items: list[EvalItem], cap: Decimal, committed: Decimal
    ) -> list[EvalItem]:
        """The leading ``items`` whose worst cases fit under ``cap`` after ``committed``."""
        total = committed
        for n, item in enumerate(items):
            worst = self._worst(item)
            if total + worst > cap:
                self.stop_reason = (
                    f"budget cap ${cap} reached: the batch could cost up to ${total} and the "
                    f"next item up to ${worst}; raise --budget to send the remaining "
                    f"{len(items) - n} items"
                )
                self.t.not_started += len(items) - n
                for left in items[n:]:
                    del self.pending[left.key]
                return items[:n]
            total += worst
        return items

    async def drive(self, entry: BatchEntry) -> None:
        """Submit (or find) ``entry``'s batch, wait for it to end, and collect it."""
        batch = await self._submitted(entry)
        if batch is None:  # every item it covered was answered meanwhile
            await self.ledger.record(entry.client_key, collected=True)
            return
        wait = self.polling.first_s
        while not batch.ended:
            await asyncio.sleep(wait)
            wait = min(wait * self.polling.factor, self.polling.max_s)
            seen = batch.status
            batch = await self._retried(partial(self.api.retrieve, batch.id))
            if batch.status != seen:
                await self.ledger.record(entry.client_key, provider_status=batch.status)
        self.last_reply = time.perf_counter()
        await self._collect(entry, batch)

    async def _submitted(self, entry: BatchEntry) -> ProviderBatch | None:
        key, api = entry.client_key, self.api
        self.first_sent = self.first_sent or time.perf_counter()
        if entry.batch_id is not None:
            try:
                return await self._retried(partial(api.retrieve, entry.batch_id))
            except ProviderError as exc:
                if exc.status != 404:
                    raise
            found = None  # the provider no longer knows it: its items go out again
        else:
            found = None if key in self.fresh else await self._retried(partial(api.find, key))
        if found is None:
            items = [self.pending[k] for k in entry.item_keys if k in self.pending]
            if not items:
                return None
            content = request_file(self.spec, self.pre.route.model, items, self.head)
            file_id = await self._retried(partial(api.upload, f"relitigate-{key}.jsonl", content))
            await self.ledger.record(key, input_file_id=file_id)
            found = await self._create(file_id, key)
        await self.ledger.record(key, batch_id=found.id, provider_status=found.status)
        return found

    async def _create(self, file_id: str, key: str) -> ProviderBatch:
        """Create the batch; before trying again after a failure, look for it by its key
        (the failed create may have landed: creating it twice would pay twice)."""
        tried = False

        async def once() -> ProviderBatch:
            nonlocal tried
            if tried and (landed := await self.api.find(key)) is not None:
                return landed
            tried = True
            return await self.api.create(file_id, key)

        return await self._retried(once)

    async def _collect(self, entry: BatchEntry, batch: ProviderBatch) -> None:
        files = [f for f in (batch.output_file_id, batch.error_file_id) if f]
        contents = [await self._retried(partial(self.api.content, f)) for f in files]
        outcomes = parse_lines(self.pre.route.route, *contents)
        fatal = self._fatal(batch, outcomes)
        turnaround_ms = ((self.last_reply or 0.0) - (self.first_sent or 0.0)) * 1000
        todo = [(self.pending.pop(k), k) for k in entry.item_keys if k in self.pending]
        if fatal is None or outcomes:  # a batch refused as a whole answered no item
            results = await asyncio.gather(*(
                self._result(item, outcomes.get(k) or missing(self.pre.route.route, batch.id,
                                                              batch.status), turnaround_ms)
                for item, k in todo
            ))  # fmt: skip
            for r in results:
                if r is not None:
                    await self._record(r)
        await self.writer.flush()  # the results are the sink's before the batch is collected
        done = {k for _, k in todo} | self.answered
        whole = fatal is not None or all(k in done for k in entry.item_keys)
        await self.ledger.record(entry.client_key, provider_status=batch.status, collected=whole)
        if fatal is not None:
            raise fatal

    def _fatal(
        self, batch: ProviderBatch, outcomes: Mapping[str, LineOutcome]
    ) -> ProviderError | None:
        """What stops the run: a refused key or unknown model on any line, or a batch the
        provider failed as a whole (it then holds nothing to pay for; a re-run submits anew)."""
        fatal = next((o.fatal for o in outcomes.values() if o.fatal is not None), None)
        if fatal is None and batch.status == "failed" and not outcomes:
            fatal = PermanentProviderError(
                f"route {self.pre.route.route!r}: the provider failed batch {batch.id} as a "
                f"whole ({batch.errors or 'no reason given'}); fix the request and run again",
                route=self.pre.route.route,
            )
        return fatal

    async def _result(self, item: EvalItem, o: LineOutcome, latency_ms: float) -> ItemResult | None:
        if o.fatal is not None:
            return None  # not the item's answer: the run stops (see _collect)
        if o.completion is None:
            return ItemResult(
                item_key=item.key, output=None, passed=False, score=0.0, prompt_tokens=0,
                completion_tokens=0, cost_usd=Decimal(0), judge_cost_usd=Decimal(0),
                latency_ms=latency_ms, attempts=1, error=o.error, error_kind=o.error_kind,
            )  # fmt: skip
        c = o.completion
        cost = self.pre.plan.call_cost(c.prompt_tokens, c.completion_tokens)
        async with self._scoring:
            return await score_output(
                self.scorer, item, c.text, prompt_tokens=c.prompt_tokens,
                completion_tokens=c.completion_tokens, cost_usd=cost, latency_ms=latency_ms,
                attempts=1, model_version=c.model_version,
            )  # fmt: skip

    async def _record(self, r: ItemResult) -> None:
        update = self.t.add(r)
        await self.writer.add(r)
        if self.progress is not None:
            self.progress(update)

    def summary(self, status: RunStatus, reason: str | None, t_enter: float) -> RunSummary:
        """The run's summary (wall time from the first submission to the last batch's end)."""
        first = self.first_sent if self.first_sent is not None else time.perf_counter()
        wall = (self.last_reply - first) if self.last_reply is not None else 0.0
        timing = Timing(
            startup_s=first - t_enter,
            wall_s=wall,
            throughput_items_per_s=self.t.done / wall if wall > 0 else 0.0,
        )
        return self.t.summary(route=self.spec.route, status=status, reason=reason, timing=timing)
