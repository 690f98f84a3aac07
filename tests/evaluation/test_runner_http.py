"""run_candidate over real HTTP against the simulator on 127.0.0.1 (no provider mocks)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from relitigate.simulator import SimulatorServer
from relitigate.simulator.behaviour import count_tokens
from relitigate.simulator.evalsets import ItemIndex, SimItem
from tasks.evaluation import run_candidate
from tasks.evaluation.errors import (
    AuthenticationFailed,
    MissingCredentialsError,
    MissingPriceError,
    UnknownModelError,
)
from tasks.evaluation.reachability import CONNECTION_FAILURES_TO_ABORT, EndpointUnreachableError
from tasks.evaluation.retry import RetryPolicy
from tasks.evaluation.scorers import build_scorer
from tasks.evaluation.types import Limits, Pricing, ProgressUpdate
from tests.evaluation.conftest import ITEMS, PRICE_IN, PRICE_OUT, ListSink, spec_for

pytestmark = pytest.mark.anyio
EXACT = build_scorer({"kind": "exact"})
FAST_RETRY = RetryPolicy(max_attempts=8, base_s=0.01, cap_s=0.05)


async def test_tokens_and_cost_add_up_exactly(fresh_sim: SimulatorServer) -> None:
    sink = ListSink()
    items = ITEMS[:120]
    s = await run_candidate(spec_for(fresh_sim, "seventy"), items, scorer=EXACT, sink=sink)
    assert s.status == "complete" and s.items_done == 120 and s.items_errored == 0
    assert sorted(r.item_key for r in sink.rows) == sorted(i.key for i in items)
    by_key = {i.key: i for i in items}
    for r in sink.rows:
        # the simulator's token rule: ceil(chars / 4) of the messages and of the answer
        assert r.prompt_tokens == count_tokens(len(str(by_key[r.item_key].input)))
        assert r.completion_tokens == count_tokens(len(r.output or ""))
        assert r.cost_usd == PRICE_IN * r.prompt_tokens + PRICE_OUT * r.completion_tokens
    assert s.prompt_tokens == sum(r.prompt_tokens for r in sink.rows)
    assert s.completion_tokens == sum(r.completion_tokens for r in sink.rows)
    assert s.cost_usd == sum((r.cost_usd for r in sink.rows), Decimal(0))
    assert s.cost_usd == PRICE_IN * s.prompt_tokens + PRICE_OUT * s.completion_tokens
    # the simulator answers right on purpose at 70 %: the scorer sees exactly that
    assert s.items_passed == sum(r.output == by_key[r.item_key].target for r in sink.rows)
    assert 0.55 < s.items_passed / 120 < 0.85
    stats = fresh_sim.model_stats("seventy")
    assert stats["completions"] == 120 and stats["items_answered"] == 120
    assert s.p50_latency_ms is not None and s.p95_latency_ms is not None
    assert s.p50_latency_ms <= s.p95_latency_ms


async def test_rate_limits_and_server_errors_are_retried(fresh_sim: SimulatorServer) -> None:
    sink = ListSink()
    items = ITEMS[:80]
    s = await run_candidate(
        spec_for(fresh_sim, "flaky"), items, scorer=EXACT, sink=sink, retry=FAST_RETRY, seed=1
    )
    stats = fresh_sim.model_stats("flaky")
    assert stats["errors_injected"] > 0 and stats["rate_limited"] > 0
    assert s.status == "complete" and s.items_errored == 0 and s.items_passed == 80
    assert stats["completions"] == 80 and stats["duplicate_completions"] == 0
    # every request the simulator saw is an attempt the engine counted
    assert sum(r.attempts for r in sink.rows) == stats["requests"]
    assert stats["requests"] == 80 + stats["errors_injected"] + stats["rate_limited"]


async def test_timeouts_are_retried(fresh_sim: SimulatorServer) -> None:
    spec = spec_for(fresh_sim, "slowpoke", limits=Limits(concurrency=16, timeout_s=0.3))
    sink = ListSink()
    s = await run_candidate(spec, ITEMS[:40], scorer=EXACT, sink=sink, retry=FAST_RETRY)
    stats = fresh_sim.model_stats("slowpoke")
    assert stats["timeouts_injected"] > 0
    assert s.items_passed == 40 and s.items_errored == 0
    assert max(r.attempts for r in sink.rows) > 1


async def test_errors_that_outlast_retries_are_recorded(fresh_sim: SimulatorServer) -> None:
    sink = ListSink()
    s = await run_candidate(
        spec_for(fresh_sim, "flaky"),
        ITEMS[:60],
        scorer=EXACT,
        sink=sink,
        retry=RetryPolicy(max_attempts=1, max_rate_limited_wait_s=0),
    )
    failed = [r for r in sink.rows if r.error is not None]
    assert failed and s.items_errored == len(failed)
    assert {r.error_kind for r in failed} <= {"server", "rate_limit"}
    assert all(not r.passed and r.cost_usd == 0 and r.output is None for r in failed)


async def test_budget_cap_stops_the_run_before_the_cap(fresh_sim: SimulatorServer) -> None:
    sink = ListSink()
    spec = spec_for(fresh_sim, "perfect", params={"max_tokens": 10})
    cap = Decimal("0.004")
    s = await run_candidate(spec, ITEMS, scorer=EXACT, sink=sink, budget_usd=cap)
    assert s.status == "incomplete" and s.reason is not None and "budget cap" in s.reason
    assert s.cost_usd <= cap
    assert 0 < s.items_done < len(ITEMS) and len(sink.rows) == s.items_done
    assert s.items_total == len(ITEMS)
    assert fresh_sim.model_stats("perfect")["completions"] == s.items_done


async def test_missing_key_fails_before_any_call(fresh_sim: SimulatorServer) -> None:
    spec = spec_for(fresh_sim, "perfect", api_key_env="RELITIGATE_TEST_NO_SUCH_KEY")
    with pytest.raises(MissingCredentialsError) as err:
        await run_candidate(spec, ITEMS, scorer=EXACT, sink=ListSink(), env={})
    msg = str(err.value)
    assert "RELITIGATE_TEST_NO_SUCH_KEY" in msg and "'perfect'" in msg
    assert "openai/perfect" in msg
    assert err.value.exit_code == 2
    assert fresh_sim.stats()["models"]["perfect"]["requests"] == 0


async def test_unknown_model_fails_on_the_probe(fresh_sim: SimulatorServer) -> None:
    sink = ListSink()
    with pytest.raises(UnknownModelError) as err:
        await run_candidate(spec_for(fresh_sim, "no-such-model"), ITEMS, scorer=EXACT, sink=sink)
    assert "openai/no-such-model" in str(err.value)
    stats = fresh_sim.stats()
    assert stats["unknown_model"] == 1  # the probe, and nothing after it
    assert all(m["completions"] == 0 for m in stats["models"].values())
    assert sink.rows == []
    assert err.value.summary is not None and err.value.summary.status == "failed"


async def test_unresolvable_route_fails_before_any_call(fresh_sim: SimulatorServer) -> None:
    spec = spec_for(fresh_sim, "perfect", route="nosuchprovider/thing", api_base=None)
    with pytest.raises(UnknownModelError, match="nosuchprovider/thing"):
        await run_candidate(spec, ITEMS, scorer=EXACT, sink=ListSink())
    assert fresh_sim.stats()["models"]["perfect"]["requests"] == 0


async def test_route_without_price_fails_before_any_call(fresh_sim: SimulatorServer) -> None:
    spec = spec_for(fresh_sim, "perfect", pricing=None)
    with pytest.raises(MissingPriceError, match="openai/perfect"):
        await run_candidate(spec, ITEMS, scorer=EXACT, sink=ListSink())
    assert fresh_sim.stats()["models"]["perfect"]["requests"] == 0


async def test_bad_key_stops_the_run_at_the_probe(fresh_sim: SimulatorServer) -> None:
    from relitigate.simulator import ModelProfile, Profile

    profile = Profile(api_key="sk-right", models=[ModelProfile(name="locked")])
    with SimulatorServer(profile) as locked:
        spec = spec_for(locked, "locked", api_key_env="SIM_KEY")
        with pytest.raises(AuthenticationFailed, match="HTTP 401"):
            await run_candidate(
                spec, ITEMS, scorer=EXACT, sink=ListSink(), env={"SIM_KEY": "sk-wrong"}
            )
        assert locked.stats()["unauthorized"] == 1
        s = await run_candidate(
            spec, ITEMS[:3], scorer=EXACT, sink=ListSink(), env={"SIM_KEY": "sk-right"}
        )
        assert s.items_done == 3 and locked.stats()["unauthorized"] == 1


async def test_cost_map_prices_the_route_when_the_candidate_has_none(
    fresh_sim: SimulatorServer,
) -> None:
    import litellm

    entry = litellm.model_cost["gpt-4o-mini"]
    price_in = Decimal(str(entry["input_cost_per_token"]))
    price_out = Decimal(str(entry["output_cost_per_token"]))
    sink = ListSink()
    s = await run_candidate(
        spec_for(fresh_sim, "gpt-4o-mini", pricing=None), ITEMS[:10], scorer=EXACT, sink=sink
    )
    assert s.cost_usd == price_in * s.prompt_tokens + price_out * s.completion_tokens > 0


async def test_litellm_transport_gives_the_same_results(fresh_sim: SimulatorServer) -> None:
    fast, slow = ListSink(), ListSink()
    items = ITEMS[:12]
    a = await run_candidate(spec_for(fresh_sim, "seventy"), items, scorer=EXACT, sink=fast)
    b = await run_candidate(
        spec_for(fresh_sim, "seventy", transport="litellm"), items, scorer=EXACT, sink=slow
    )
    key = lambda r: r.item_key  # noqa: E731
    assert [
        (r.output, r.prompt_tokens, r.completion_tokens, r.cost_usd)
        for r in sorted(fast.rows, key=key)
    ] == [
        (r.output, r.prompt_tokens, r.completion_tokens, r.cost_usd)
        for r in sorted(slow.rows, key=key)
    ]
    assert a.cost_usd == b.cost_usd and a.items_passed == b.items_passed


async def test_skip_keys_are_never_sent(fresh_sim: SimulatorServer) -> None:
    items = ITEMS[:30]
    skip = {i.key for i in items[:20]}
    sink = ListSink()
    s = await run_candidate(
        spec_for(fresh_sim, "perfect"), items, scorer=EXACT, sink=sink, skip_keys=skip
    )
    assert s.items_skipped == 20 and s.items_done == 10 and s.items_total == 30
    assert {r.item_key for r in sink.rows} == {i.key for i in items[20:]}
    assert fresh_sim.model_stats("perfect")["completions"] == 10


async def test_results_are_flushed_in_batches_and_progress_is_reported(
    fresh_sim: SimulatorServer,
) -> None:
    updates: list[ProgressUpdate] = []
    sink = ListSink()
    s = await run_candidate(
        spec_for(fresh_sim, "perfect"),
        ITEMS[:50],
        scorer=EXACT,
        sink=sink,
        flush_every=10,
        progress=updates.append,
    )
    # Batches hold what arrived since the last flush (at least flush_every when the buffer
    # triggers it), never more than 4 x flush_every: several batches, every row once.
    assert sink.batches >= 2 and len(sink.rows) == 50
    assert len({r.item_key for r in sink.rows}) == 50
    assert [u.done for u in updates] == list(range(1, 51))
    assert updates[-1].total == 50 and updates[-1].cost_usd == s.cost_usd
    assert s.model_version == "perfect-2026-01"
    assert {r.model_version for r in sink.rows} == {"perfect-2026-01"}


async def test_cancellation_flushes_what_finished(fresh_sim: SimulatorServer) -> None:
    sink = ListSink()
    done: list[ProgressUpdate] = []
    spec = spec_for(fresh_sim, "perfect", limits=Limits(concurrency=4, timeout_s=5))
    task = asyncio.ensure_future(
        run_candidate(
            spec,
            ITEMS,
            scorer=EXACT,
            sink=sink,
            flush_every=1000,
            flush_interval_s=60,
            progress=done.append,
        )
    )
    while len(done) < 15:
        await asyncio.sleep(0.005)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(sink.rows) == len(done) >= 15
    assert len(sink.rows) < len(ITEMS)


async def test_gpu_hour_pricing_uses_measured_throughput(fresh_sim: SimulatorServer) -> None:
    spec = spec_for(fresh_sim, "perfect", pricing=Pricing(gpu_usd_per_hour=Decimal("2.50"), gpus=2))
    sink = ListSink()
    s = await run_candidate(spec, ITEMS[:40], scorer=EXACT, sink=sink)
    assert all(r.cost_usd == 0 for r in sink.rows)
    assert s.gpu_cost_per_call_usd is not None
    expected = Decimal("5.00") / 3600 / Decimal(repr(s.throughput_items_per_s))
    assert abs(s.gpu_cost_per_call_usd - expected) < Decimal("1e-12")
    assert s.cost_usd == s.gpu_cost_per_call_usd * 40


async def test_client_rpm_limit_paces_requests(fresh_sim: SimulatorServer) -> None:
    spec = spec_for(fresh_sim, "perfect", limits=Limits(concurrency=16, rpm=1200))
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    s = await run_candidate(spec, ITEMS[:40], scorer=EXACT, sink=ListSink())
    # 20 requests/s with a one-second burst of 20: the other 20 take about a second
    assert loop.time() - t0 >= 0.8 and s.items_done == 40


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_closed_port_stops_the_run_and_records_nothing(
    fresh_sim: SimulatorServer,
) -> None:
    sink = ListSink()
    port = _closed_port()
    spec = spec_for(fresh_sim, "perfect", api_base=f"http://127.0.0.1:{port}/v1")
    with pytest.raises(EndpointUnreachableError) as err:
        await run_candidate(spec, ITEMS, scorer=EXACT, sink=sink, retry=FAST_RETRY)
    msg = str(err.value)
    assert f"127.0.0.1:{port}" in msg
    assert "'perfect'" in msg and "failed to connect" in msg
    assert sink.rows == []
    summary = err.value.summary
    assert summary is not None and summary.status == "failed"
    # it stopped at the third failure in a row; items failing at the same moment on the other
    # connections may finish before the stop reaches them, never a whole wave more
    assert summary.items_done >= CONNECTION_FAILURES_TO_ABORT
    assert summary.items_done < CONNECTION_FAILURES_TO_ABORT + spec.limits.concurrency


async def test_an_endpoint_that_drops_every_call_stops_the_run() -> None:
    from relitigate.simulator import ModelProfile, Profile

    profile = Profile(models=[ModelProfile(name="gone", disconnect_rate=1.0)])
    with SimulatorServer(profile) as dropping:
        sink = ListSink()
        spec = spec_for(dropping, "gone", limits=Limits(concurrency=4))
        retry = RetryPolicy(max_attempts=2, base_s=0.01, cap_s=0.05)
        with pytest.raises(EndpointUnreachableError, match="failed to connect"):
            await run_candidate(spec, ITEMS, scorer=EXACT, sink=sink, retry=retry)
        assert sink.rows == []
        dropped = dropping.model_stats("gone")
        assert dropped["completions"] == 0
        # the probe, then at most one item per worker in flight when the streak was reached
        assert dropped["requests"] <= 2 * (CONNECTION_FAILURES_TO_ABORT + 4)


async def test_dropped_connections_are_recorded_once_the_endpoint_answers() -> None:
    from relitigate.simulator import ModelProfile, Profile

    profile = Profile(seed=5, models=[ModelProfile(name="shaky", disconnect_rate=0.3)])
    index = ItemIndex((str(i.input), SimItem(i.key, i.target)) for i in ITEMS)
    with SimulatorServer(profile, index) as shaky:
        sink = ListSink()
        spec = spec_for(shaky, "shaky", limits=Limits(concurrency=4))
        once = RetryPolicy(max_attempts=1)
        s = await run_candidate(
            spec, ITEMS, scorer=EXACT, sink=sink, retry=once, abort_after_connection=len(ITEMS)
        )
        dropped = shaky.model_stats("shaky")["disconnects_injected"]
    assert s.status == "complete" and dropped > 0
    assert len(sink.rows) == len(ITEMS)
    errors = [r for r in sink.rows if r.error is not None]
    assert len(errors) == dropped == s.items_errored
    assert {r.error_kind for r in errors} == {"connection"}
