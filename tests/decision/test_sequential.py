"""Sequential evaluation's pure rules: waves, the seeded order, the boundaries, when to stop."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from tasks.decision.sequential import (
    SequentialError,
    WavePlan,
    item_order,
    look_levels,
    next_step,
    nominal_levels,
    saved_usd,
    spent,
    wave_keys,
    wave_plan,
)


@pytest.mark.parametrize(
    ("total", "sizes"),
    [
        (1000, (200, 300, 400, 500, 600, 700, 800, 900, 1000)),
        (540, (200, 300, 400, 540)),  # a last wave under half a wave joins the one before
        (560, (200, 300, 400, 500, 560)),
        (2000, (200, 400, 600, 800, 1000, 1200, 1400, 1600, 1800, 2000)),  # at most 10 waves
        (220, (220,)),
        (150, (150,)),
    ],
)
def test_waves_are_cumulative_and_end_at_the_whole_set(total: int, sizes: tuple[int, ...]) -> None:
    assert wave_plan(total, min_items=200, seed=1).sizes == sizes


def test_no_look_before_min_items_and_off_means_one_wave() -> None:
    plan = wave_plan(1000, min_items=450, seed=1, wave_items=200)
    assert plan.sizes == (450, 650, 850, 1000)
    assert plan.fractions() == (0.45, 0.65, 0.85, 1.0)
    early = wave_plan(1000, min_items=450, seed=1, wave_items=500)
    assert early.sizes == (500, 1000) and early.looks == (1, 2)
    assert wave_plan(1000, min_items=200, seed=1, sequential=False).sizes == (1000,)
    with pytest.raises(SequentialError):
        wave_plan(0, min_items=200, seed=1)


def test_the_order_depends_on_the_seed_and_the_keys_only() -> None:
    keys = [f"k{i}" for i in range(500)]
    order = item_order(keys, 7)
    assert sorted(order) == sorted(keys)
    assert item_order(list(reversed(keys)), 7) == order  # the stored order of keys is irrelevant
    assert item_order(keys, 8) != order
    plan = wave_plan(500, min_items=200, seed=7, wave_items=200)
    assert plan.sizes == (200, 400, 500)
    first, last = wave_keys(order, plan, 1), wave_keys(order, plan, 3)
    assert last[:200] == first and last == order


def test_boundaries_match_published_obrien_fleming_values() -> None:
    """Lan-DeMets O'Brien-Fleming spending, 5 equal looks, one-sided 2.5%: the published
    z boundaries are 4.877, 3.357, 2.680, 2.290, 2.031 (e.g. R gsDesign, sfLDOF)."""
    levels = nominal_levels((0.2, 0.4, 0.6, 0.8, 1.0), 0.025)
    z = [-float(special.ndtri(p)) for p in levels]
    assert z == pytest.approx([4.877, 3.357, 2.680, 2.290, 2.031], abs=2e-3)
    assert nominal_levels((1.0,), 0.025) == pytest.approx((0.025,))
    assert spent(0.5, 0.025) < spent(0.5, 0.025, "pocock") < 0.025


def test_repeated_looks_keep_the_level() -> None:
    """Brownian motion at the looks: crossing any boundary happens at the stated level."""
    fractions = (0.2, 0.4, 0.6, 0.8, 1.0)
    cut = -special.ndtri(np.array(nominal_levels(fractions, 0.025)))
    rng = np.random.default_rng(3)
    steps = rng.standard_normal((200_000, 5)) * np.sqrt(np.diff((0.0, *fractions)))
    z = np.cumsum(steps, axis=1) / np.sqrt(fractions)
    crossed = (z >= cut).any(axis=1).mean()
    assert abs(crossed - 0.025) < 4 * np.sqrt(0.025 * 0.975 / 200_000)


def test_look_levels_split_erosion_over_buys_and_hold_each_at_the_level() -> None:
    plan = wave_plan(1000, min_items=200, seed=1, wave_items=200)
    last = look_levels(plan, 5, alpha=0.05, buys=2)
    assert last.final and last.items == 1000
    assert last.holding == pytest.approx(nominal_levels(plan.fractions(), 0.025)[-1])
    assert last.erosion == pytest.approx(2 * nominal_levels(plan.fractions(), 0.0125)[-1])
    assert 0.02 < last.erosion < 0.025 and 0.02 < last.holding < 0.025
    assert look_levels(plan, 1, alpha=0.05, buys=1).holding < 1e-5
    one = wave_plan(220, min_items=200, seed=1)
    assert look_levels(one, 1, alpha=0.05, buys=3).erosion == 0.025  # one look: the fixed test
    with pytest.raises(SequentialError):  # a wave before min_items is no look
        look_levels(WavePlan(1, 1000, (100, 200, 1000), 200), 1, alpha=0.05, buys=1)


@pytest.mark.parametrize(
    ("wave", "verdict", "failed", "step"),
    [
        (1, "keep", (), "keep"),
        (2, "retire", ("quality_ratio",), "retire"),
        (2, "retire", ("net_savings",), "continue"),  # money alone: more items may change it
        (2, "retire", ("volume", "net_savings"), "retire"),
        (3, "watch", (), "continue"),
        (3, "inconclusive", (), "continue"),
        (5, "watch", (), "end"),
        (5, "keep", (), "end"),
    ],
)
def test_when_to_stop(wave: int, verdict: str, failed: tuple[str, ...], step: str) -> None:
    plan = wave_plan(1000, min_items=200, seed=1, wave_items=200)
    assert next_step(plan, wave, verdict=verdict, failed=failed).step == step


def test_no_stop_before_min_items() -> None:
    plan = wave_plan(1000, min_items=450, seed=1, wave_items=100)
    assert plan.sizes[0] == 450  # the first wave brings the set to min_items
    small = WavePlan(1, 1000, (100, 200, 1000), 200)  # a stored plan with an early wave
    assert small.looks == (2, 3)
    assert next_step(small, 1, verdict="keep", failed=()).step == "continue"


def test_saving_is_mean_cost_times_items_not_called() -> None:
    assert saved_usd(2.0, 400, 600) == pytest.approx(3.0)
    assert saved_usd(0.0, 0, 1000) == 0.0


def test_a_look_decides_on_its_items_at_its_levels_and_the_memo_says_so() -> None:
    from datetime import date

    from tasks.decision import decide
    from tasks.decision.errors import InvalidInputsError
    from tasks.decision.sequential import SequentialUse
    from tasks.decision.sequential_inputs import at_look
    from tests.decision.factory import binary, inputs, side

    n = 400
    # fine-tune 0.78 against a buy at 0.90 on 400 items: ratio 0.87, eroded
    full = inputs(side("ft", "fine_tune", binary(n, 312)), side("b", "buy", binary(n, 360)))
    plan = wave_plan(n, min_items=200, seed=3, wave_items=200)
    order = item_order(full.fine_tune.item_keys, plan.seed)
    first = look_levels(plan, 1, alpha=0.05, buys=1)
    use = SequentialUse(3, "obrien_fleming", 2, 1, None, "test", n, 200, n, (("b", 200),),
                        0.06, 0.06, first.erosion, first.holding)  # fmt: skip
    early = at_look(full, wave_keys(order, plan, 1), first, use)
    assert early.fine_tune.n_items == early.buys[0].n_items == 200
    outcome = decide(early, rng_seed=0, today=date(2026, 11, 25))
    gate = next(g for g in outcome.gates if g.name == "quality_ratio")
    assert f"{first.erosion:.3g}" in gate.evidence  # the look's boundary, not 0.025
    assert outcome.metrics()["sequential"]["items_used"] == 200
    assert "Items used (sequential evaluation)" in outcome.memo
    with pytest.raises(InvalidInputsError, match=r"look\.items"):
        at_look(full, wave_keys(order, plan, 1)[:150], first)
