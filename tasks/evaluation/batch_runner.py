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
is tried again. An open batch whose items all have results is marked collected; one whose id
the provider answers 404 for (purged, or another account) is submitted again.

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
from collections.abc import Iterable, Mapping
from decimal import Decimal

from tasks.evaluation.batch_api import BatchAPI
from tasks.evaluation.batch_ledger import BatchEntry, BatchLedger, MemoryLedger
from tasks.evaluation.batch_run import BatchRun, Polling
from tasks.evaluation.errors import EvaluationError
from tasks.evaluation.preflight import check_candidate
from tasks.evaluation.retry import RetryPolicy
from tasks.evaluation.scorers.judge import check_judge_independent
from tasks.evaluation.types import (
    CandidateSpec,
    EvalItem,
    ProgressCallback,
    ResultSink,
    RunStatus,
    RunSummary,
    Scorer,
)
from tasks.evaluation.writer import ResultWriter


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
