import json
from dataclasses import replace
from datetime import date
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from tasks.decision import (
    DecisionError,
    DecisionOutcome,
    HistoryPoint,
    InvalidInputsError,
    InvalidResultsError,
    Judge,
    MisalignedItemsError,
    decide,
)
from tests.decision.factory import binary, inputs, policy, side

TODAY = date(2026, 11, 25)


def _worked_example() -> DecisionOutcome:
    # 200 items. The buy passes items 0-179 (180), the fine-tune items 0-170 (171).
    ft = side("ft", "fine_tune", binary(200, 171), cost=0.00002)
    buy = side("buy", "buy", binary(200, 180), cost=0.0003)
    return decide(inputs(ft, buy), rng_seed=7, today=TODAY)


def test_worked_example_numbers() -> None:
    o = _worked_example()
    # quality: 171/200 = 0.855 and 180/200 = 0.9; Wilson for 180/200 is 0.8506 to 0.9343
    # (see test_stats); ratio 0.855 / 0.9 = 0.95; difference -0.045
    assert o.fine_tune.quality.value == 0.855 and o.buy.quality.value == 0.9
    assert o.buy.quality.low == pytest.approx(0.850594, abs=2e-6)
    assert o.comparison.ratio.value == pytest.approx(0.95)
    assert o.comparison.difference.value == pytest.approx(-0.045)
    # McNemar: 0 items only the fine-tune passed, 9 only the buy: p = 2 * 0.5^9 = 0.00390625
    assert (o.mcnemar.fine_tune_only, o.mcnemar.buy_only) == (0, 9)
    assert o.mcnemar.p_value == pytest.approx(0.00390625)
    # cost per useful task: 200 x 0.00002 / 171 = 0.0000233918; 200 x 0.0003 / 180 = 0.000333
    assert o.fine_tune.cost_per_useful_task_usd == pytest.approx(0.004 / 171)
    assert o.buy.cost_per_useful_task_usd == pytest.approx(0.06 / 180)
    # monthly at 20M calls/day x 30.4 days: fine-tune 12,160; buy 182,400; fixed 1,000
    # -> net savings 182,400 - 12,160 - 1,000 = 169,240
    assert o.money.fine_tune_monthly_variable_usd == pytest.approx(12_160)
    assert o.money.buy_monthly_usd == pytest.approx(182_400)
    assert o.money.net_monthly_savings_usd == pytest.approx(169_240)
    # the ratio sits on the bar with an interval around it: borderline -> watch, not retire
    assert o.comparison.ratio.low < 0.95 < o.comparison.ratio.high
    assert o.verdict == "watch"
    assert o.reproducibility["next_review_date"] == "2027-01-01"
    assert o.reproducibility["seed"] == 7


def test_outcome_is_json_serialisable_without_nan() -> None:
    o = _worked_example()
    text = json.dumps(o.to_json(), allow_nan=False)
    data = json.loads(text)
    assert data["verdict"] == "watch"
    assert data["metrics"]["ratio"]["value"] == pytest.approx(0.95)
    assert {g["name"] for g in data["gates"]} >= {"eval_items", "quality_ratio", "volume"}
    assert data["trend"]["horizon_quarters"] == 2
    json.dumps(o.metrics(), allow_nan=False)


def test_infinite_ratio_and_nothing_passed_become_null_in_json() -> None:
    ft = side("ft", "fine_tune", binary(200, 200))
    buy = side("buy", "buy", binary(200, 0))
    o = decide(inputs(ft, buy), rng_seed=1, today=TODAY)
    data = o.to_json()
    assert data["metrics"]["ratio"]["value"] is None
    assert data["metrics"]["buy"]["cost_per_useful_task_usd"] is None
    json.dumps(data, allow_nan=False)
    assert o.verdict == "keep"


def test_same_seed_same_outcome() -> None:
    assert _worked_example().to_json() == _worked_example().to_json()


def test_every_buy_is_tested_and_the_memo_names_the_buy_and_the_correction() -> None:
    # 190/200 against 195/200 twice and 150/200 once: the strongest challengers are the two
    # 195s (equal erosion p-values, ties to the earlier), and the weak, cheap buy is beaten
    # on quality, so being cheaper than the fine-tune does not make it a replacement
    ft = side("ft", "fine_tune", binary(200, 190))
    pricey = side("pricey", "buy", binary(200, 195), cost=0.001)
    cheap = side("cheap", "buy", binary(200, 195), cost=0.0005)
    weaker = side("weaker", "buy", binary(200, 150), cost=0.00001)
    o = decide(inputs(ft, pricey, weaker, cheap), rng_seed=1, today=TODAY)
    assert o.best_buy_name == "pricey"
    assert [c.buy for c in o.comparisons] == ["pricey", "weaker", "cheap"]
    assert o.comparisons[1].beats and not o.comparisons[0].beats
    p = [c.p_eroded for c in o.comparisons]
    # Holm: smallest p times 3, then the next times 2 (never below the previous), then 1
    assert o.comparisons[0].p_adjusted == pytest.approx(min(1.0, 3 * min(p)))
    assert "Holm's correction over 3 buy alternatives" in o.memo
    assert "Buy compared: `pricey`" in o.memo
    savings = next(g for g in o.gates if g.name == "net_savings")
    assert savings.status == "unknown" and "no replacement" in savings.evidence
    assert o.verdict == "watch"


def test_a_cheaper_buy_that_could_replace_the_fine_tune_fails_net_savings() -> None:
    ft = side("ft", "fine_tune", binary(200, 190), cost=0.0004)
    steady = side("steady", "buy", binary(200, 190), cost=0.001)
    rival = side("rival", "buy", binary(200, 188), cost=0.0001)
    o = decide(inputs(ft, steady, rival), rng_seed=1, today=TODAY)
    savings = next(g for g in o.gates if g.name == "net_savings")
    assert savings.status == "fail" and "`rival`" in savings.evidence
    assert (o.verdict, o.best_buy_name) == ("retire", "rival")


def test_a_flaky_buy_is_not_the_buy_compared_when_a_steady_one_exists() -> None:
    ft = side("ft", "fine_tune", binary(200, 200))
    flaky = side("flaky", "buy", binary(200, 200), errored=[i < 20 for i in range(200)])
    steady = side("steady", "buy", binary(200, 150))
    o = decide(inputs(ft, flaky, steady), rng_seed=1, today=TODAY)
    assert o.best_buy_name == "steady"


def test_items_are_paired_by_key_not_by_position() -> None:
    keys = [f"item-{i}" for i in range(200)]
    ft = side("ft", "fine_tune", binary(200, 100), keys=keys)
    buy = side("buy", "buy", binary(200, 100)[::-1], keys=keys[::-1])
    o = decide(inputs(ft, buy), rng_seed=1, today=TODAY)
    # paired right, the two sides agree on every item: difference 0, and an interval that is
    # symmetric and narrow (no discordant item seen in 200; paired by position, 200 would be)
    d = o.comparison.difference
    assert d.value == 0.0 and d.low == pytest.approx(-d.high) and 0.0 < d.high < 0.03


def test_misaligned_items_raise_a_user_error() -> None:
    ft = side("ft", "fine_tune", binary(200, 100))
    buy = side("buy", "buy", binary(201, 100))
    with pytest.raises(MisalignedItemsError) as info:
        decide(inputs(ft, buy), rng_seed=1, today=TODAY)
    assert info.value.exit_code == 2 and "same eval-set version" in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"scores": [1.5, 0.0]}, "outside [0, 1]"),
        ({"scores": [float("nan"), 0.0]}, "outside [0, 1] or NaN"),
        ({"scores": [1.0, 0.0], "cost": [-1.0, 0.0]}, "negative"),
        ({"scores": [1.0, 0.0], "keys": ["a", "a"]}, "duplicate"),
    ],
)
def test_malformed_results_raise_naming_the_candidate(kwargs: dict[str, Any], needle: str) -> None:
    scores = kwargs.pop("scores")
    with pytest.raises(InvalidResultsError) as info:
        side("ft", "fine_tune", scores, **kwargs)
    assert needle in str(info.value) and "'ft'" in str(info.value)


def test_bad_policy_and_inputs_raise_decision_errors() -> None:
    with pytest.raises(DecisionError):
        policy("build_from_scratch")
    with pytest.raises(DecisionError):
        policy(adopted="2025-Q1")
    ft = side("ft", "fine_tune", binary(200, 100))
    with pytest.raises(InvalidInputsError):
        inputs(ft)  # no buy alternative
    with pytest.raises(InvalidInputsError):
        twice = [HistoryPoint("2026Q1", 1.0), HistoryPoint("2026Q1", 0.9)]
        inputs(ft, side("b", "buy", binary(200, 1)), history=twice)
    with pytest.raises(InvalidInputsError):
        decide(inputs(ft, side("x", "fine_tune", binary(200, 1))), rng_seed=1, today=TODAY)
    with pytest.raises(InvalidInputsError):
        decide(inputs(ft, side("b", "buy", binary(200, 1))), rng_seed=-1, today=TODAY)


def test_reproducibility_records_routes_versions_judge_prices_and_hash() -> None:
    ft = side("ft", "fine_tune", binary(200, 200), pricing={"gpu_usd_per_hour": 3.2})
    buy = side("buy", "buy", binary(200, 200), pricing={"input_usd_per_token": 1e-6})
    base = inputs(ft, buy)
    o = decide(replace(base, judge=Judge("openai/gpt-5", "2026-08")), rng_seed=3, today=TODAY)
    r = o.reproducibility
    assert r["eval_set_hash"] == "sha256:test"
    assert r["fine_tune"]["route"] == "test/ft" and r["fine_tune"]["model_version"] == "ft-v1"
    assert r["fine_tune"]["pricing"] == {"gpu_usd_per_hour": 3.2}
    assert r["buys"][0]["pricing"] == {"input_usd_per_token": 1e-6}
    assert r["judge"] == {"route": "openai/gpt-5", "version": "2026-08"}
    assert r["seed"] == 3 and r["engine_version"] == "2"


def test_history_point_round_trip_feeds_next_quarter() -> None:
    o = _worked_example()
    point = o.history_point()
    assert point.quarter == "2026Q4" and point.verdict == "watch"
    assert point.advantage == pytest.approx(0.95)
    ft, buy = side("ft", "fine_tune", binary(200, 200)), side("buy", "buy", binary(200, 200))
    nxt = decide(
        inputs(ft, buy, quarter="2027Q1", history=[point]), rng_seed=7, today=date(2027, 2, 1)
    )
    assert [p.quarter for p in nxt.history] == ["2026Q4"]


def test_latency_percentiles_match_numpy_and_skip_errored_calls() -> None:
    ft = side("ft", "fine_tune", binary(200, 200))
    lat = np.arange(200, dtype=float) * 3.0
    buy = replace(
        side("buy", "buy", binary(200, 200), errored=[i >= 190 for i in range(200)]),
        latency_ms=lat,
    )
    o = decide(inputs(ft, buy), rng_seed=1, today=TODAY)
    assert o.buy.latency_p50_ms == pytest.approx(np.percentile(lat[:190], 50))
    assert o.buy.latency_p95_ms == pytest.approx(np.percentile(lat[:190], 95))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("significance_alpha", 1.5),
        ("min_items", 0),
        ("max_error_rate", 1.0),
        ("warning_horizon_quarters", -1),
    ],
)
def test_bad_thresholds_are_refused_naming_the_field(field: str, value: float) -> None:
    with pytest.raises(ValidationError) as info:
        policy(**{field: value})
    assert info.value.errors()[0]["loc"] == (field,)
