"""Run one candidate over eval items: paced, retried, priced, scored, checkpointed.

:func:`run_candidate` is the engine's entry point. Items are pulled lazily from an
iterable (memory stays flat however many there are); ``concurrency`` workers each send one
call at a time; results reach the sink in batches, at least every ``flush_every`` results or
``flush_interval_s`` seconds, and on cancellation or error, so a Ctrl-C or a crash loses at
most the calls in flight. A hard kill loses the unflushed batch too, unless the sink journals
each result as it arrives (a ``record`` method, see
:class:`~tasks.evaluation.writer.ResultWriter`; the registry sink does). Each item's work
(budget, pacing, retries, price, score) is :class:`~tasks.evaluation.calls.RunCalls`. A
candidate with ``limits.batch`` goes through its provider's batch API instead, one batch per
call (:mod:`tasks.evaluation.batch_runner`, same contract; a sink with a ``batch_ledger``
makes its batches survive a kill).

An endpoint that cannot be connected to is not an answer: after ``abort_after_connection``
items in a row failed to connect (every attempt), with no reply in between, the run stops
with :class:`~tasks.evaluation.reachability.EndpointUnreachableError`. Connection failures
are held back from the sink until a reply shows the endpoint is there, so a run that never
reached its provider leaves no result behind.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal

from tasks.evaluation.budget import Budget
from tasks.evaluation.calls import RunCalls
from tasks.evaluation.errors import EvaluationError
from tasks.evaluation.preflight import check_candidate
from tasks.evaluation.provider import Provider, open_provider
from tasks.evaluation.reachability import CONNECTION_FAILURES_TO_ABORT
from tasks.evaluation.retry import RetryPolicy
from tasks.evaluation.scorers.judge import check_judge_independent
from tasks.evaluation.tally import Tally
from tasks.evaluation.types import (
    CandidateSpec,
    EvalItem,
    ProgressCallback,
    ResultSink,
    RunSummary,
    Scorer,
)
from tasks.evaluation.writer import ResultWriter

Set_ = frozenset[str] | set[str]


def _pending(items: Iterable[EvalItem], skip: Set_, tally: Tally) -> Iterator[EvalItem]:
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
    if spec.limits.batch:  # one provider batch per call, resumable through the sink's ledger
        from tasks.evaluation.batch_runner import run_batch_candidate

        return await run_batch_candidate(
            spec, items, scorer=scorer, skip_keys=skip_keys, sink=sink, budget_usd=budget_usd,
            progress=progress, env=env, retry=retry, flush_every=flush_every,
            flush_interval_s=flush_interval_s, seed=seed,
        )  # fmt: skip
    t_enter = time.perf_counter()
    check_judge_independent(scorer, [spec])
    pre = check_candidate(spec, env=os.environ if env is None else env)
    cap = None if budget_usd is None else Decimal(str(budget_usd))
    total = sum(1 for i in items if i.key not in skip_keys) if isinstance(items, Sequence) else None
    policy = retry or RetryPolicy(max_attempts=spec.limits.max_attempts)
    writer = ResultWriter(sink, flush_every, flush_interval_s)
    provider = open_provider(spec, pre.route, api_key=pre.api_key)
    run = RunCalls(
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
        abort_after_connection=abort_after_connection,
        t_enter=t_enter,
    )
    pending = _pending(items, skip_keys, run.t)
    writer.start()
    try:
        await _call_all(run, pending, spec.limits.concurrency)
        run.t.not_started += sum(1 for _ in pending)
        await run.release_held()  # the run ended without giving up on the endpoint
    except BaseException as exc:
        await _close(writer, provider, scorer)
        if isinstance(exc, EvaluationError):
            exc.summary = run.summary("failed", f"{type(exc).__name__}: {exc}")
        raise
    await _close(writer, provider, scorer)
    if run.stop_reason is not None:
        return run.summary("incomplete", run.stop_reason)
    return run.summary("complete", None)


async def _call_all(run: RunCalls, pending: Iterator[EvalItem], concurrency: int) -> None:
    """The first item alone (the probe: nothing else is sent before it answers), then the
    rest with ``concurrency`` workers; on any failure the workers are cancelled first."""
    first = next(pending, None)
    if first is None:
        return
    await run.worker(iter((first,)))
    workers = [asyncio.create_task(run.worker(pending)) for _ in range(concurrency)]
    try:
        await asyncio.gather(*workers)
    except BaseException:
        for w in workers:
            w.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        raise


async def _close(writer: ResultWriter, provider: Provider, scorer: Scorer) -> None:
    try:
        await writer.close()
    finally:
        await provider.aclose()
        aclose = getattr(scorer, "aclose", None)
        if aclose is not None:
            await aclose()
