"""Shared token buckets on both dialects: refill, refusal with a wait, debt, and takers that
race each other never together take more than the bucket allows."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from registry import rate_buckets
from registry.errors import InvalidValueError, NotFoundError


def _take(factory: Any, name: str, amount: float) -> float:
    with factory.begin() as session:
        return rate_buckets.take(session, name, amount)


def test_a_full_bucket_gives_its_capacity_then_says_how_long_to_wait(session_factory: Any) -> None:
    with session_factory.begin() as session:
        rate_buckets.ensure_bucket(session, "rpm:x", per_second=2.0, capacity=3.0)
    assert [_take(session_factory, "rpm:x", 1) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = _take(session_factory, "rpm:x", 1)
    assert 0.0 < wait <= 0.5  # 1 at 2 per second, less what refilled meanwhile
    time.sleep(wait + 0.05)
    assert _take(session_factory, "rpm:x", 1) == 0.0


def test_an_amount_over_the_capacity_takes_the_whole_bucket(session_factory: Any) -> None:
    with session_factory.begin() as session:
        rate_buckets.ensure_bucket(session, "tpm:x", per_second=0.5, capacity=50.0)
    assert _take(session_factory, "tpm:x", 500) == 0.0
    with session_factory.begin() as session:
        assert rate_buckets.level(session, "tpm:x") == pytest.approx(0.0, abs=2.0)


def test_a_charge_leaves_a_debt_that_later_takes_wait_out(session_factory: Any) -> None:
    with session_factory.begin() as session:
        rate_buckets.ensure_bucket(session, "tpm:y", per_second=10.0, capacity=10.0)
        rate_buckets.charge(session, "tpm:y", 30)
    wait = _take(session_factory, "tpm:y", 1)
    assert 1.0 < wait <= 2.1  # 20 of debt and 1 more at 10 per second, less the refill since


def test_ensure_keeps_the_level_and_updates_the_rate(session_factory: Any) -> None:
    with session_factory.begin() as session:
        rate_buckets.ensure_bucket(session, "rpm:z", per_second=1.0, capacity=2.0)
    assert _take(session_factory, "rpm:z", 2) == 0.0
    with session_factory.begin() as session:
        rate_buckets.ensure_bucket(session, "rpm:z", per_second=5.0, capacity=4.0)
        row_level = rate_buckets.level(session, "rpm:z")
    assert row_level is not None and row_level < 1.0  # not refilled by ensure


def test_unknown_bucket_and_bad_rate_are_named(session_factory: Any) -> None:
    with pytest.raises(NotFoundError, match="no rate bucket 'rpm:nope'"):
        _take(session_factory, "rpm:nope", 1)
    with session_factory.begin() as session, pytest.raises(InvalidValueError, match="rpm:bad"):
        rate_buckets.ensure_bucket(session, "rpm:bad", per_second=0.0, capacity=1.0)


def test_racing_takers_never_take_more_than_the_refill_allows(session_factory: Any) -> None:
    rate, capacity, seconds = 40.0, 4.0, 1.5
    with session_factory.begin() as session:
        rate_buckets.ensure_bucket(session, "rpm:race", per_second=rate, capacity=capacity)
    taken: list[float] = []
    lock = threading.Lock()
    start = time.monotonic()

    def taker() -> None:
        while time.monotonic() - start < seconds:
            wait = _take(session_factory, "rpm:race", 1)
            if wait == 0.0:
                with lock:
                    taken.append(time.monotonic() - start)
            else:
                time.sleep(min(wait, 0.05))

    threads = [threading.Thread(target=taker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    assert len(taken) <= capacity + rate * elapsed + 1
    assert len(taken) > capacity  # refills were taken too, not only the first bucketful
