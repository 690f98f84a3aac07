"""``limits.batch``: a candidate's items go out as one provider batch over real HTTP to the
simulator's Files and Batch endpoints, priced at the cost map's batch prices; a batch created
but never recorded is found by its client key instead of being paid again; line errors,
budget caps and refused configurations."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from decimal import Decimal

import pytest

from relitigate.simulator import ModelProfile, Profile, SimulatorServer
from relitigate.simulator.evalsets import ItemIndex, SimItem
from tasks.evaluation import run_candidate
from tasks.evaluation.batch_api import BatchRouteError, MissingBatchPriceError
from tasks.evaluation.batch_ledger import MemoryLedger
from tasks.evaluation.errors import PermanentProviderError, UnknownModelError
from tasks.evaluation.preflight import check_candidate
from tasks.evaluation.scorers import build_scorer
from tasks.evaluation.types import CandidateSpec, Limits, Pricing
from tests.evaluation.conftest import ListSink, make_items

pytestmark = pytest.mark.anyio
ITEMS = make_items(40, prefix="b")
EXACT = build_scorer({"kind": "exact"})


@pytest.fixture(scope="module")
def batch_sim() -> Iterator[SimulatorServer]:
    index = ItemIndex((str(i.input), SimItem(i.key, i.target)) for i in ITEMS)
    profile = Profile(
        seed=5,
        batch_delay_s=0.2,
        models=[
            ModelProfile(name="gpt-4o-mini", accuracy=0.75, prompt_tokens=30, completion_tokens=4),
            ModelProfile(name="flaky", accuracy=1.0, error_rate=0.5),
        ],
    )
    with SimulatorServer(profile, index) as sim:
        yield sim


def _spec(sim: SimulatorServer, model: str = "gpt-4o-mini", **kw: object) -> CandidateSpec:
    args: dict[str, object] = {
        "name": model, "route": f"openai/{model}", "api_base": sim.base_url,
        "limits": Limits(batch=True, timeout_s=5, max_attempts=2),
    }  # fmt: skip
    args.update(kw)
    return CandidateSpec(**args)  # type: ignore[arg-type]


class LedgerSink(ListSink):
    """A list sink carrying a batch ledger, as the benchmark's registry sink does."""

    def __init__(self, ledger: MemoryLedger) -> None:
        super().__init__()
        self.batch_ledger = ledger


def _batch_prices() -> tuple[Decimal, Decimal, Decimal, Decimal]:
    import litellm

    entry = litellm.model_cost["gpt-4o-mini"]
    return tuple(  # type: ignore[return-value]
        Decimal(str(entry[k]))
        for k in ("input_cost_per_token_batches", "output_cost_per_token_batches",
                  "input_cost_per_token", "output_cost_per_token")
    )  # fmt: skip


async def test_one_batch_priced_at_batch_prices_skipping_answered_items(
    batch_sim: SimulatorServer,
) -> None:
    batch_sim.reset_stats()
    before = batch_sim.stats()["batches"]["created"]
    sink = LedgerSink(MemoryLedger())
    answered = {i.key for i in ITEMS[:10]}
    summary = await run_candidate(
        _spec(batch_sim), ITEMS, scorer=EXACT, sink=sink, skip_keys=answered, env={}
    )
    stats = batch_sim.model_stats("gpt-4o-mini")

    assert summary.status == "complete"
    assert (summary.items_done, summary.items_skipped, summary.items_errored) == (30, 10, 0)
    assert sorted(r.item_key for r in sink.rows) == sorted(i.key for i in ITEMS[10:])
    assert batch_sim.stats()["batches"]["created"] == before + 1
    assert stats["requests"] == stats["items_answered"] == 30  # the answered ten never sent
    assert stats["duplicate_completions"] == 0

    in_b, out_b, in_full, out_full = _batch_prices()
    assert in_b < in_full and out_b < out_full
    for r in sink.rows:
        assert (r.prompt_tokens, r.completion_tokens) == (30, 4)
        assert r.cost_usd == 30 * in_b + 4 * out_b
    assert summary.cost_usd == sum(r.cost_usd for r in sink.rows)
    assert 0 < summary.items_passed < 30  # scored like chat answers (accuracy 0.75)
    assert summary.items_passed == sum(r.passed for r in sink.rows)
    assert sink.batch_ledger.collected == set(sink.batch_ledger.entries)


class Killed(BaseException):
    """What a kill looks like to the code it interrupts: nothing catches it."""


class CrashAfterCreate(MemoryLedger):
    """Dies (as a SIGKILL would) when asked to store a provider's batch id, once."""

    armed = True

    async def record(self, client_key: str, **kw: object) -> None:  # type: ignore[override]
        if kw.get("batch_id") is not None and self.armed:
            self.armed = False
            raise Killed("between the batch's creation and the record of its id")
        await super().record(client_key, **kw)  # type: ignore[arg-type]


async def test_a_batch_created_but_not_recorded_is_found_by_its_key(
    batch_sim: SimulatorServer,
) -> None:
    batch_sim.reset_stats()
    before = batch_sim.stats()["batches"]["created"]
    ledger = CrashAfterCreate()
    spec, items = _spec(batch_sim), ITEMS[:12]
    with pytest.raises(Killed):
        await run_candidate(spec, items, scorer=EXACT, sink=LedgerSink(ledger), env={})
    (entry,) = await ledger.open_batches()
    assert entry.batch_id is None and batch_sim.stats()["batches"]["created"] == before + 1

    sink = LedgerSink(ledger)
    summary = await run_candidate(spec, items, scorer=EXACT, sink=sink, env={})

    assert summary.items_done == 12 and summary.status == "complete"
    assert batch_sim.stats()["batches"]["created"] == before + 1  # polled, not submitted again
    assert ledger.entries[entry.client_key].batch_id is not None
    assert batch_sim.model_stats("gpt-4o-mini")["requests"] == 12


class CrashBeforeCollected(MemoryLedger):
    """Dies when first asked to mark a batch collected (its results are in the sink)."""

    armed = True

    async def record(self, client_key: str, **kw: object) -> None:  # type: ignore[override]
        if kw.get("collected") and self.armed:
            self.armed = False
            raise Killed("between the batch's results and its collected mark")
        await super().record(client_key, **kw)  # type: ignore[arg-type]


async def test_a_kill_after_the_results_were_written_sends_nothing_again(
    batch_sim: SimulatorServer,
) -> None:
    batch_sim.reset_stats()
    before = batch_sim.stats()["batches"]["created"]
    ledger = CrashBeforeCollected()
    first = LedgerSink(ledger)
    spec, items = _spec(batch_sim), ITEMS[:8]
    with pytest.raises(Killed):
        await run_candidate(spec, items, scorer=EXACT, sink=first, env={})
    assert len(first.rows) == 8 and len(await ledger.open_batches()) == 1

    answered = {r.item_key for r in first.rows}
    summary = await run_candidate(
        spec, items, scorer=EXACT, sink=LedgerSink(ledger), skip_keys=answered, env={}
    )
    assert (summary.items_done, summary.items_skipped) == (0, 8)
    assert await ledger.open_batches() == []  # marked collected, not polled or sent again
    assert batch_sim.stats()["batches"]["created"] == before + 1
    assert batch_sim.model_stats("gpt-4o-mini")["requests"] == 8


async def test_a_recorded_batch_the_provider_no_longer_knows_is_submitted_again(
    batch_sim: SimulatorServer,
) -> None:
    batch_sim.reset_stats()
    before = batch_sim.stats()["batches"]["created"]
    ledger = MemoryLedger()
    items = ITEMS[:6]
    entry = await ledger.reserve("openai", [i.key for i in items])
    await ledger.record(entry.client_key, batch_id="batch_purged_long_ago")
    summary = await run_candidate(
        _spec(batch_sim), items, scorer=EXACT, sink=LedgerSink(ledger), env={}
    )
    assert summary.items_done == 6 and summary.status == "complete"
    assert batch_sim.stats()["batches"]["created"] == before + 1
    assert ledger.entries[entry.client_key].batch_id != "batch_purged_long_ago"
    assert await ledger.open_batches() == []


async def test_line_errors_are_recorded_as_calls_would_be_and_cost_nothing(
    batch_sim: SimulatorServer,
) -> None:
    batch_sim.reset_stats()
    spec = _spec(batch_sim, "flaky", pricing=Pricing(Decimal("1e-6"), Decimal("2e-6")))
    sink = ListSink()
    summary = await run_candidate(spec, ITEMS[:20], scorer=EXACT, sink=sink, env={})

    errored = [r for r in sink.rows if r.error is not None]
    assert summary.status == "complete" and len(sink.rows) == 20
    assert 0 < len(errored) == summary.items_errored < 20
    assert all(r.error_kind == "server" and r.cost_usd == 0 for r in errored)
    assert batch_sim.model_stats("flaky")["errors_injected"] == len(errored)


async def test_an_unknown_model_stops_the_run_and_records_nothing(
    batch_sim: SimulatorServer,
) -> None:
    spec = _spec(batch_sim, "nope", pricing=Pricing(Decimal("1e-6"), Decimal("2e-6")))
    ledger = MemoryLedger()
    sink = LedgerSink(ledger)
    with pytest.raises(UnknownModelError) as caught:
        await run_candidate(spec, ITEMS[:5], scorer=EXACT, sink=sink, env={})
    assert sink.rows == []
    summary = caught.value.summary
    assert summary is not None and summary.status == "failed"
    assert await ledger.open_batches() == []  # spent: a fixed re-run submits afresh


async def test_a_batch_failed_as_a_whole_stops_the_run_and_records_nothing() -> None:
    profile = Profile(batch_delay_s=0, batch_max_requests=5, models=[ModelProfile(name="m")])
    with SimulatorServer(profile) as sim:
        spec = _spec(sim, "m", pricing=Pricing(Decimal("1e-6"), Decimal("2e-6")))
        ledger = MemoryLedger()
        sink = LedgerSink(ledger)
        whole = r"failed batch \S+ as a whole \(simulator: the batch has more than 5 requests"
        with pytest.raises(PermanentProviderError, match=whole):
            await run_candidate(spec, ITEMS[:12], scorer=EXACT, sink=sink, env={})
        requests = sim.model_stats("m")["requests"]
    assert sink.rows == [] and requests == 0
    assert await ledger.open_batches() == []  # nothing to poll: a fixed re-run submits anew


async def test_a_call_over_the_request_limit_is_split_into_batches(
    batch_sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tasks.evaluation import batch_run

    monkeypatch.setattr(batch_run, "MAX_BATCH_REQUESTS", 5)
    batch_sim.reset_stats()
    before = batch_sim.stats()["batches"]["created"]
    ledger = MemoryLedger()
    summary = await run_candidate(
        _spec(batch_sim), ITEMS[:12], scorer=EXACT, sink=LedgerSink(ledger), env={}
    )
    assert summary.items_done == 12 and summary.status == "complete"
    assert batch_sim.stats()["batches"]["created"] == before + 3
    assert sorted(len(e.item_keys) for e in ledger.entries.values()) == [2, 5, 5]
    assert batch_sim.model_stats("gpt-4o-mini")["requests"] == 12


async def test_the_budget_cap_leaves_items_out_before_submitting(
    batch_sim: SimulatorServer,
) -> None:
    batch_sim.reset_stats()
    spec = _spec(batch_sim, params={"max_tokens": 8})
    in_b, out_b, _, _ = _batch_prices()
    prompt_chars = len(str(ITEMS[0].input)) + 8 + 16  # the budget's worst case for one item
    per_item = prompt_chars * in_b + 8 * out_b
    sink = ListSink()
    summary = await run_candidate(
        spec, ITEMS[:10], scorer=EXACT, sink=sink, env={}, budget_usd=per_item * Decimal("3.5")
    )
    assert summary.status == "incomplete" and "budget cap" in (summary.reason or "")
    assert summary.items_done == 3 and summary.items_total == 10
    assert batch_sim.model_stats("gpt-4o-mini")["requests"] == 3


def test_batch_on_a_route_without_a_batch_api_is_refused() -> None:
    spec = CandidateSpec(
        name="claude", route="anthropic/claude-3-5-haiku-20241022", api_key_env="K",
        limits=Limits(batch=True),
    )  # fmt: skip
    with pytest.raises(BatchRouteError, match=r"limits\.batch") as caught:
        check_candidate(spec, env={"K": "x"})
    assert caught.value.exit_code == 2


def test_batch_without_a_batch_price_is_refused() -> None:
    spec = CandidateSpec(name="custom", route="openai/perfect", limits=Limits(batch=True))
    with pytest.raises(MissingBatchPriceError, match=r"limits\.batch.*no batch price"):
        check_candidate(spec, env={})
    own = dataclasses.replace(spec, pricing=Pricing(Decimal("1e-6"), Decimal("2e-6")))
    assert check_candidate(own, env={}).plan.source == "candidate"
