"""Writes that overlapping runs race on, on SQLite and PostgreSQL: benchmark leases (taken by
exactly one process, renewed, released, taken over after expiry) and decisions (the first write
wins, the loser reads it; a retry replaces a decision only at the revision it saw)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import update

from registry import leases
from registry.decisions import decision_revisions, get_decision, write_decision
from registry.leases import Holder, LeaseHeldError, LeaseLostError
from registry.models import Lease
from tasks.lease import LeaseTimes, held_lease
from tests.registry.factories import seed_workload

NAME = "benchmark:1:1:2026Q1:1"
LOG = logging.getLogger("test-leases")


def _holder(pid: int) -> Holder:
    return Holder(token=f"token-{pid}", host="box", pid=pid, flow_run_id=f"run-{pid}")


def _acquire(factory: Any, holder: Holder, ttl_s: float = 30.0) -> leases.LeaseState:
    with factory.begin() as session:
        return leases.acquire(session, NAME, holder, ttl_s=ttl_s)


def _race(n: int, fn: Callable[[int], Any]) -> list[Any]:
    """``fn(i)`` on ``n`` threads released together; their results in thread order."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = fn(i)
        except Exception as exc:  # reported below, not swallowed
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_one_holder_until_released_and_the_others_see_who(session_factory: Any) -> None:
    a, b = _holder(1), _holder(2)
    first = _acquire(session_factory, a)
    assert first.mine and first.took_over is None
    second = _acquire(session_factory, b)
    assert not second.mine
    assert second.holder == a and second.holder.describe() == "box pid 1 (flow run run-1)"
    assert second.expires_at == first.expires_at
    assert _acquire(session_factory, a).mine  # asking again while holding it renews it
    with session_factory.begin() as session:
        assert not leases.release(session, NAME, b.token)  # not b's to release
        assert leases.renew(session, NAME, b.token, ttl_s=30) is None
        assert leases.release(session, NAME, a.token)
        assert leases.current(session, NAME) is None
    assert _acquire(session_factory, b).mine


def test_an_expired_lease_is_taken_over_and_its_holder_is_fenced_off(
    session_factory: Any,
) -> None:
    a, b = _holder(1), _holder(2)
    assert _acquire(session_factory, a, ttl_s=0.05).mine
    time.sleep(0.15)  # a was killed: it renews no more
    taken = _acquire(session_factory, b)
    assert taken.mine and taken.took_over == a
    with session_factory.begin() as session:
        assert leases.renew(session, NAME, a.token, ttl_s=30) is None  # a's renewal fails...
        assert not leases.release(session, NAME, a.token)  # ...and so does its release
        state = leases.current(session, NAME)
    assert state is not None and state.holder == b


def test_of_many_processes_asking_at_once_exactly_one_gets_it(session_factory: Any) -> None:
    results = _race(8, lambda i: _acquire(session_factory, _holder(100 + i)))
    assert not [r for r in results if isinstance(r, Exception)], results
    winners = [r.holder.pid for r in results if r.mine]
    assert len(winners) == 1
    assert {r.holder.pid for r in results} == set(winners)  # every loser names the winner


def test_held_lease_heartbeats_then_lets_a_waiter_in(session_factory: Any) -> None:
    times = LeaseTimes(ttl_s=0.4, heartbeat_s=0.1, wait_s=5.0, poll_s=0.05)
    order: list[str] = []

    async def work(holder: Holder, hold_s: float) -> float:
        async with held_lease(session_factory, NAME, holder, times, label="w", log=LOG) as got:
            order.append(f"start {holder.pid}")
            await asyncio.sleep(hold_s)  # longer than the TTL: only the heartbeat keeps it
            order.append(f"end {holder.pid}")
            return got.waited_s

    async def both() -> list[float]:
        first = asyncio.create_task(work(_holder(1), 1.0))
        await asyncio.sleep(0.2)
        return list(await asyncio.gather(first, work(_holder(2), 0.0)))

    waited = asyncio.run(both())
    assert order == ["start 1", "end 1", "start 2", "end 2"]
    assert waited[0] < 0.2 and waited[1] >= 0.6
    with session_factory.begin() as session:
        assert leases.current(session, NAME) is None  # released


def test_held_lease_gives_up_after_the_wait_and_stops_work_when_taken_over(
    session_factory: Any,
) -> None:
    assert _acquire(session_factory, _holder(9), ttl_s=60).mine
    times = LeaseTimes(ttl_s=0.3, heartbeat_s=0.1, wait_s=0.3, poll_s=0.05)

    async def wait_for_it() -> None:
        async with held_lease(session_factory, NAME, _holder(1), times, label="w", log=LOG):
            raise AssertionError("the lease was held by another process")

    with pytest.raises(LeaseHeldError, match=r"box pid 9 \(flow run run-9\).*waited"):
        asyncio.run(wait_for_it())

    with session_factory.begin() as session:
        leases.release(session, NAME, _holder(9).token)
    stopped: list[str] = []

    async def stall_and_lose_it() -> None:
        async with held_lease(session_factory, NAME, _holder(1), times, label="w", log=LOG):
            with session_factory.begin() as session:  # another process takes it over
                session.execute(update(Lease).values(token="someone-else"))
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                stopped.append("cancelled")
                raise

    t0 = time.monotonic()
    with pytest.raises(LeaseLostError, match="taken over"):
        asyncio.run(stall_and_lose_it())
    assert stopped == ["cancelled"] and time.monotonic() - t0 < 5


def _decide(factory: Any, workload_id: int, verdict: str, **kwargs: Any) -> Any:
    with factory.begin() as session:
        result = write_decision(
            session, workload_id=workload_id, quarter="2026Q1", verdict=verdict,
            metrics={"v": verdict}, gates=[], trend={}, reproducibility={}, memo=verdict,
            next_review=date(2026, 4, 1), fine_tune_run_id=None, buy_run_id=None, **kwargs,
        )  # fmt: skip
        return (result.written, result.decision.verdict.value, result.decision.revision)


def test_racing_decisions_never_raise_and_the_losers_read_the_winner(
    session_factory: Any,
) -> None:
    with session_factory.begin() as session:
        workload_id = seed_workload(session).workload_id
    verdicts = ["keep", "retire", "watch", "inconclusive", "keep", "retire"]
    results = _race(len(verdicts), lambda i: _decide(session_factory, workload_id, verdicts[i]))
    assert not [r for r in results if isinstance(r, Exception)], results
    winners = [r for r in results if r[0]]
    assert len(winners) == 1
    stored = winners[0][1]
    assert {r[1] for r in results} == {stored}  # every loser got the winner's verdict back
    with session_factory() as session:
        decision = get_decision(session, workload_id, "2026Q1")
        assert decision is not None and decision.verdict == stored and decision.revision == 1


def test_a_retry_replaces_only_the_revision_it_saw_and_keeps_the_old_one(
    session_factory: Any,
) -> None:
    with session_factory.begin() as session:
        workload_id = seed_workload(session).workload_id
    assert _decide(session_factory, workload_id, "inconclusive") == (True, "inconclusive", 1)
    # a plain write does not replace; two retries of revision 1 race: one replaces it
    assert _decide(session_factory, workload_id, "keep") == (False, "inconclusive", 1)
    retries = _race(
        2,
        lambda i: _decide(
            session_factory, workload_id, ["keep", "retire"][i], supersedes=1, because="retry"
        ),
    )
    assert sorted(r[0] for r in retries) == [False, True]
    winner = next(r for r in retries if r[0])
    assert {r[1:] for r in retries} == {winner[1:]} and winner[2] == 2
    # --force replaces whatever is there
    assert _decide(session_factory, workload_id, "watch", replace=True, attempt=2) == (
        True, "watch", 3,
    )  # fmt: skip
    with session_factory() as session:
        decision = get_decision(session, workload_id, "2026Q1")
        assert decision is not None and decision.attempt == 2
        old = decision_revisions(session, decision.id)
        assert [(r.revision, r.verdict.value, r.attempt) for r in old] == [
            (1, "inconclusive", 1),
            (2, winner[1], 1),
        ]
        assert old[0].superseded_because == "retry" and old[0].memo == "inconclusive"
