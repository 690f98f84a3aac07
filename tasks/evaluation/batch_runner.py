"""Run one candidate's items through its provider's batch API: one batch per engine call.

:func:`run_batch_candidate` keeps :func:`~tasks.evaluation.runner.run_candidate`'s contract
(which hands a candidate with ``limits.batch`` to it): items in ``skip_keys`` are never sent,
every result reaches the sink (journaled as it arrives when the sink has ``record``), progress
hears each item, and the summary counts the same things. Each batch goes:

1. written down in the ledger before anything is sent (:mod:`tasks.evaluation.batch_ledger`:
   the sink's ``batch_ledger``, the registry's ``frontier_batches`` in a benchmark), with a
   random client key;
2. its JSONL request file uploaded, the batch created with the client key in its metadata,
   the provider's batch id recorded;
3. polled (backoff from ``Polling.first_s`` to ``Polling.max_s``) until it ends;
4. its output and error files read, each line scored as a chat completion would be and priced
   at the batch prices (:func:`~tasks.evaluation.batch_api.batch_plan`), written to the sink,
   and only then the batch marked collected.

A re-run (after a kill anywhere in these steps) takes the run's open batches first: one with a
batch id is polled; one without is looked up at the provider by its client key, and submitted
only if it is not there. Only items no open batch covers go into a new batch, so nothing is
sent or paid twice. A transient failure of a create is followed by the same look-up before it
is tried again.

The budget cap is applied before submitting: items whose worst-case cost would take the
batches' total past it are left out (``incomplete``). Line errors are recorded as a call's
would be (transient kinds are retried by a later pass); a refused key or an unknown model on
any line, or a batch the provider failed as a whole, stops the run as a probe call's would.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import TypeVar

from tasks.evaluation.batch_api import BatchAPI, ProviderBatch
from tasks.evaluation.batch_ledger import BatchEntry, BatchLedger, MemoryLedger
from tasks.evaluation.batch_lines import LineOutcome, missing, parse_lines, request_file
from tasks.evaluation.budget import max_completion_tokens, worst_case_cost
from tasks.evaluation.errors import BudgetExceeded, EvaluationError, PermanentProviderError
from tasks.evaluation.preflight import Preflight, check_candidate
from tasks.evaluation.prompt import char_count, preamble, render
from tasks.evaluation.retry import Attempts, RetryPolicy, call_with_retry
from tasks.evaluation.scorers.judge import check_judge_independent
from tasks.evaluation.scoring import score_output
from tasks.evaluation.tally import Tally, Timing
from tasks.evaluation.types import (
    CandidateSpec,
    EvalItem,
    ItemResult,
    ProgressCallback,
    ResultSink,
    RunStatus,
    RunSummary,
    Scorer,
)
from tasks.evaluation.writer import ResultWriter

T = TypeVar("T")


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
        """The open batches that cover pending items, and one new batch for the rest."""
        entries = [
            e
            for e in await self.ledger.open_batches()
            if any(k in self.pending for k in e.item_keys)
        ]
        covered = {k for e in entries for k in e.item_keys if k in self.pending}
        rest = [item for key, item in self.pending.items() if key not in covered]
        if cap is not None:
            rest = self._affordable(rest, cap, sum(self._worst(self.pending[k]) for k in covered))
        if rest:
            entry = await self.ledger.reserve(self.pre.route.provider, [i.key for i in rest])
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
                self.stop_reason = str(
                    BudgetExceeded(cap_usd=cap, spent_usd=total, needed_usd=worst)
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
            return await self._retried(partial(api.retrieve, entry.batch_id))
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
        turnaround_ms = ((self.last_reply or 0.0) - (self.first_sent or 0.0)) * 1000
        todo = [(self.pending.pop(k), k) for k in entry.item_keys if k in self.pending]
        results = await asyncio.gather(*(
            self._result(item, outcomes.get(k) or missing(self.pre.route.route, batch.id,
                                                          batch.status), turnaround_ms)
            for item, k in todo
        ))  # fmt: skip
        for r in results:
            if r is not None:
                await self._record(r)
        await self.writer.flush()  # the results are the sink's before the batch is collected
        fatal = next((o.fatal for o in outcomes.values() if o.fatal is not None), None)
        if fatal is None and batch.status == "failed" and not outcomes:
            fatal = PermanentProviderError(
                f"route {self.pre.route.route!r}: the provider failed batch {batch.id} as a "
                f"whole ({batch.errors or 'no reason given'}); fix the request and run again",
                route=self.pre.route.route,
            )
        done = {k for _, k in todo} | self.answered
        whole = fatal is not None or all(k in done for k in entry.item_keys)
        await self.ledger.record(entry.client_key, provider_status=batch.status, collected=whole)
        if fatal is not None:
            raise fatal

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


async def run_batch_candidate(
    spec: CandidateSpec,
    items: Iterable[EvalItem],
    *,
    scorer: Scorer,
    skip_keys: frozenset[str] | set[str] = frozenset(),
    sink: ResultSink,
    budget_usd: Decimal | float | None = None,
    progress: ProgressCallback | None = None,
    env: Mapping[str, str] | None = None,
    retry: RetryPolicy | None = None,
    flush_every: int = 100,
    flush_interval_s: float = 1.0,
    seed: int | None = None,
    polling: Polling | None = None,
) -> RunSummary:
    """Benchmark ``spec`` on ``items`` through its provider's batch API (see the module).

    Arguments as :func:`~tasks.evaluation.runner.run_candidate`'s; ``polling`` says how often
    a batch is looked at. The ledger is the sink's ``batch_ledger`` when it has one.

    Raises:
        EvaluationError: bad configuration (before anything is sent), a permanent provider
            error (``exc.summary`` holds what was done), or transient failures that outlasted
            the retries (the batch stays open: a re-run polls it).
    """
    t_enter = time.perf_counter()
    check_judge_independent(scorer, [spec])
    pre = check_candidate(spec, env=os.environ if env is None else env)
    answered = frozenset(skip_keys)
    given = list(items)  # a batch's file holds them all at once anyway
    pending = {i.key: i for i in given if i.key not in answered}
    ledger: BatchLedger = getattr(sink, "batch_ledger", None) or MemoryLedger()
    api = BatchAPI(pre.route, api_key=pre.api_key, timeout_s=spec.limits.timeout_s)
    writer = ResultWriter(sink, flush_every, flush_interval_s)
    run = BatchRun(
        spec, pre, api, ledger, pending=pending, answered=answered,
        scorer=scorer, writer=writer, progress=progress, rng=random.Random(seed),
        policy=retry or RetryPolicy(max_attempts=spec.limits.max_attempts),
        polling=polling or Polling(),
    )  # fmt: skip
    run.t.skipped = len(given) - len(pending)
    cap = None if budget_usd is None else Decimal(str(budget_usd))
    writer.start()
    try:
        entries = await run.plan(cap)
        await _drive_all(run, entries)
    except BaseException as exc:
        await _close(writer, scorer)
        if isinstance(exc, EvaluationError):
            exc.summary = run.summary("failed", f"{type(exc).__name__}: {exc}", t_enter)
        raise
    await _close(writer, scorer)
    status: RunStatus = "complete" if run.stop_reason is None else "incomplete"
    return run.summary(status, run.stop_reason, t_enter)


async def _drive_all(run: BatchRun, entries: list[BatchEntry]) -> None:
    tasks = [asyncio.create_task(run.drive(e)) for e in entries]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def _close(writer: ResultWriter, scorer: Scorer) -> None:
    try:
        await writer.close()
    finally:
        aclose = getattr(scorer, "aclose", None)
        if aclose is not None:
            await aclose()
