"""Run one candidate over eval items: paced, retried, priced, scored, checkpointed.

:func:`run_candidate` is the engine's entry point. Items are pulled lazily from an
iterable (memory stays flat however many there are); ``concurrency`` workers each send one
call at a time; results reach the sink in batches, at least every ``flush_every`` results or
``flush_interval_s`` seconds, and on cancellation or error, so a Ctrl-C or a crash loses at
most the calls in flight. A hard kill loses the unflushed batch too, unless the sink journals
each result as it arrives (a ``record`` method, see :class:`_Writer`; the registry sink does).

An endpoint that cannot be connected to is not an answer: after ``abort_after_connection``
items in a row failed to connect (every attempt), with no reply in between, the run stops
with :class:`~tasks.evaluation.reachability.EndpointUnreachableError`. Connection failures
are held back from the sink until a reply shows the endpoint is there, so a run that never
reached its provider leaves no result behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import statistics
import time
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from tasks.evaluation.budget import Budget, max_completion_tokens, worst_case_cost
from tasks.evaluation.errors import (
    BudgetExceeded,
    EvaluationError,
    TransientProviderError,
)
from tasks.evaluation.pacing import Pacer
from tasks.evaluation.preflight import Preflight, check_candidate
from tasks.evaluation.pricing import gpu_cost_per_call
from tasks.evaluation.prompt import Message, char_count, preamble, render
from tasks.evaluation.provider import Completion, Provider, open_provider
from tasks.evaluation.reachability import (
    CONNECTION_FAILURES_TO_ABORT,
    EndpointUnreachableError,
    endpoint_of,
)
from tasks.evaluation.retry import Attempts, RetryPolicy, call_with_retry
from tasks.evaluation.scorers.judge import check_judge_independent
from tasks.evaluation.scoring import score_output
from tasks.evaluation.types import (
    CandidateSpec,
    EvalItem,
    ItemResult,
    ProgressCallback,
    ProgressUpdate,
    ResultSink,
    RunStatus,
    RunSummary,
    Scorer,
)

Set_ = frozenset[str] | set[str]


class _Writer:
    """Buffers results and writes them to the sink in order, in batches.

    A sink that also has a synchronous ``record(result)`` method hears each result the
    moment it arrives, before it is buffered (the task layer journals it to disk there, so a
    hard kill between two batches loses nothing already received).
    """

    def __init__(self, sink: ResultSink, every: int, interval_s: float) -> None:
        self.sink, self.every, self.interval_s = sink, max(1, every), interval_s
        self._record: Callable[[ItemResult], object] | None = getattr(sink, "record", None)
        self.buf: list[ItemResult] = []
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def add(self, result: ItemResult) -> None:
        if self._record is not None:
            self._record(result)
        self.buf.append(result)
        if len(self.buf) >= self.every:
            if len(self.buf) >= 4 * self.every:  # the sink lags: wait for it (bounded memory)
                await self.flush()
            else:
                self._wake.set()

    async def _loop(self) -> None:
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval_s)
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        async with self._lock:
            if self.buf:
                batch, self.buf = self.buf, []
                await self.sink.write(batch)

    async def close(self) -> None:
        # The loop is told to stop, never cancelled: a cancelled flush could drop a batch
        # taken from the buffer, and on Python 3.11 ``wait_for`` can swallow a cancellation
        # (the loop would then never end). A sink failure surfaces here instead of vanishing.
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
        await self.flush()


@dataclass(slots=True)
class _Tally:
    done: int = 0
    passed: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: Decimal = Decimal(0)
    judge_cost: Decimal = Decimal(0)
    latencies: array[float] = field(default_factory=lambda: array("d"))
    model_version: str | None = None
    first_sent: float | None = None
    last_reply: float | None = None
    skipped: int = 0
    not_started: int = 0


class _Run:
    """One run's state and per-item work."""

    def __init__(
        self,
        spec: CandidateSpec,
        pre: Preflight,
        provider: Provider,
        *,
        scorer: Scorer,
        writer: _Writer,
        budget: Budget,
        policy: RetryPolicy,
        progress: ProgressCallback | None,
        total: int | None,
        rng: random.Random,
        abort_after_connection: int,
    ) -> None:
        self.spec, self.pre, self.provider, self.scorer = spec, pre, provider, scorer
        self.writer, self.budget, self.policy, self.progress = writer, budget, policy, progress
        self.total, self.rng = total, rng
        self.pacer = Pacer(spec.limits)
        self.head = preamble(spec.prompt)
        self.max_completion = max_completion_tokens(spec.params)
        self.t = _Tally()
        self.stop_reason: str | None = None
        self.abort_after_connection = abort_after_connection
        self.connection_streak = 0
        """Items in a row that failed to connect, with no reply in between."""
        self.held: list[ItemResult] = []
        """Connection failures not yet handed to the sink (see :meth:`_record`)."""

    async def item(self, item: EvalItem) -> None:
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
                self._count_connection_failure(exc)
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
            if self.t.first_sent is None:
                self.t.first_sent = t0
            try:
                return await self.provider.complete(messages)
            finally:
                now = time.perf_counter()
                latency[0] = (now - t0) * 1000
                self.t.last_reply = now

    async def _score(
        self, item: EvalItem, c: Completion, cost: Decimal, latency_ms: float, attempts: int
    ) -> ItemResult:
        return await score_output(
            self.scorer, item, c.text, prompt_tokens=c.prompt_tokens,
            completion_tokens=c.completion_tokens, cost_usd=cost, latency_ms=latency_ms,
            attempts=attempts, model_version=c.model_version,
        )  # fmt: skip

    def _count_connection_failure(self, exc: TransientProviderError) -> None:
        self.connection_streak += 1
        if self.connection_streak < self.abort_after_connection:
            return
        route = self.pre.route
        endpoint = endpoint_of(route.api_base, route.provider)
        where = str(endpoint) if endpoint is not None else f"the endpoint of route {route.route!r}"
        raise EndpointUnreachableError(
            endpoint=where,
            candidates=[self.spec.name],
            reason=(
                f"{self.connection_streak} items in a row failed to connect, with no reply in "
                f"between (last: {exc}); the run stopped before the rest"
            ),
        ) from exc

    async def release_held(self) -> None:
        """Hand held-back connection failures to the sink (the endpoint did answer)."""
        held, self.held = self.held, []
        for r in held:
            await self.writer.add(r)

    async def _record(self, r: ItemResult) -> None:
        t = self.t
        t.done += 1
        t.passed += r.passed
        t.errors += r.error is not None
        t.prompt_tokens += r.prompt_tokens
        t.completion_tokens += r.completion_tokens
        t.cost += r.cost_usd
        t.judge_cost += r.judge_cost_usd
        if r.error is None:
            t.latencies.append(r.latency_ms)
        if r.model_version is not None:
            t.model_version = r.model_version
        if r.error_kind == "connection":
            self.held.append(r)  # written once a reply shows the endpoint is there
        else:
            self.connection_streak = 0
            await self.release_held()
            await self.writer.add(r)
        if self.progress is not None:
            self.progress(
                ProgressUpdate(
                    candidate=self.spec.name,
                    done=t.done,
                    total=self.total,
                    passed=t.passed,
                    errors=t.errors,
                    cost_usd=t.cost,
                )
            )

    async def worker(self, pending: Iterator[EvalItem]) -> None:
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


def _pending(items: Iterable[EvalItem], skip: Set_, tally: _Tally) -> Iterator[EvalItem]:
    for item in items:
        if item.key in skip:
            tally.skipped += 1
        else:
            yield item


async def run_candidate(
    spec: CandidateSpec,
    items: Iterable[EvalItem],
    *,
    scorer: Scorer,
    skip_keys: Set_ = frozenset(),
    sink: ResultSink,
    budget_usd: Decimal | float | None = None,
    progress: ProgressCallback | None = None,
    env: Mapping[str, str] | None = None,
    retry: RetryPolicy | None = None,
    flush_every: int = 100,
    flush_interval_s: float = 1.0,
    seed: int | None = None,
    abort_after_connection: int = CONNECTION_FAILURES_TO_ABORT,
) -> RunSummary:
    """Benchmark one candidate on ``items`` and return the run's summary.

    Args:
        spec: the candidate.
        items: the eval items, consumed lazily (a generator keeps memory flat).
        scorer: scores each output (see :func:`tasks.evaluation.scorers.build_scorer`).
        skip_keys: item keys that already have a result: never sent.
        sink: receives every result, in batches.
        budget_usd: cap on the candidate's spend in this run; None: no cap.
        progress: hears every finished item.
        env: where the API key variable is read; default: the process environment.
        retry: backoff policy; default: ``RetryPolicy(max_attempts=spec.limits.max_attempts)``.
        flush_every: hand results to the sink at least every this many results...
        flush_interval_s: ...and every this many seconds.
        seed: seeds the retry jitter.
        abort_after_connection: stop after this many items in a row failed to connect.

    Returns:
        The summary: ``complete``, or ``incomplete`` with the reason (budget cap).

    Raises:
        EvaluationError: bad configuration (before any call), or a permanent provider error
            (which stops the run; ``exc.summary`` holds what was done, with status
            ``failed``), or EndpointUnreachableError when calls cannot connect. Results
            obtained before the error are in the sink; held-back connection failures are not.
    """
    t_enter = time.perf_counter()
    check_judge_independent(scorer, [spec])
    pre = check_candidate(spec, env=os.environ if env is None else env)
    cap = None if budget_usd is None else Decimal(str(budget_usd))
    total = sum(1 for i in items if i.key not in skip_keys) if isinstance(items, Sequence) else None
    policy = retry or RetryPolicy(max_attempts=spec.limits.max_attempts)
    writer = _Writer(sink, flush_every, flush_interval_s)
    provider = open_provider(spec, pre.route, api_key=pre.api_key)
    run = _Run(
        spec,
        pre,
        provider,
        scorer=scorer,
        writer=writer,
        budget=Budget(cap),
        policy=policy,
        progress=progress,
        total=total,
        rng=random.Random(seed),
        abort_after_connection=max(1, abort_after_connection),
    )
    pending = _pending(items, skip_keys, run.t)
    writer.start()
    workers: list[asyncio.Task[None]] = []
    try:
        first = next(pending, None)
        if first is not None:  # the probe call: alone, before any other item is sent
            await run.worker(iter((first,)))
            workers = [
                asyncio.create_task(run.worker(pending)) for _ in range(spec.limits.concurrency)
            ]
            await asyncio.gather(*workers)
        run.t.not_started += sum(1 for _ in pending)
        await run.release_held()  # the run ended without giving up on the endpoint
    except BaseException as exc:
        for w in workers:
            w.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        await _close(writer, provider, scorer)
        if isinstance(exc, EvaluationError):
            exc.summary = _summary(run, "failed", f"{type(exc).__name__}: {exc}", t_enter)
        raise
    await _close(writer, provider, scorer)
    if run.stop_reason is not None:
        return _summary(run, "incomplete", run.stop_reason, t_enter)
    return _summary(run, "complete", None, t_enter)


async def _close(writer: _Writer, provider: Provider, scorer: Scorer) -> None:
    try:
        await writer.close()
    finally:
        await provider.aclose()
        aclose = getattr(scorer, "aclose", None)
        if aclose is not None:
            await aclose()


def _summary(run: _Run, status: RunStatus, reason: str | None, t_enter: float) -> RunSummary:
    t = run.t
    first = t.first_sent if t.first_sent is not None else time.perf_counter()
    wall = (t.last_reply - first) if t.last_reply is not None else 0.0
    throughput = t.done / wall if wall > 0 else 0.0
    p50 = p95 = None
    if len(t.latencies) >= 2:
        cuts = statistics.quantiles(t.latencies, n=100, method="inclusive")
        p50, p95 = cuts[49], cuts[94]
    elif t.latencies:
        p50 = p95 = t.latencies[0]
    cost, per_call = t.cost, None
    gpu = run.pre.plan.gpu_usd_per_hour
    if gpu is not None and throughput > 0:
        per_call = gpu_cost_per_call(gpu, throughput)
        cost = per_call * (t.done - t.errors)
    if reason is None and t.not_started:
        status, reason = "incomplete", f"{t.not_started} items were not started"
    return RunSummary(
        candidate=run.spec.name,
        route=run.spec.route,
        status=status,
        reason=reason,
        items_total=t.skipped + t.done + t.not_started,
        items_skipped=t.skipped,
        items_done=t.done,
        items_passed=t.passed,
        items_errored=t.errors,
        prompt_tokens=t.prompt_tokens,
        completion_tokens=t.completion_tokens,
        cost_usd=cost,
        judge_cost_usd=t.judge_cost,
        startup_s=first - t_enter,
        wall_s=wall,
        throughput_items_per_s=throughput,
        p50_latency_ms=p50,
        p95_latency_ms=p95,
        model_version=t.model_version,
        gpu_cost_per_call_usd=per_call,
    )
