"""Invariants of the decision engine, checked with hypothesis on binary and continuous scores.

Ordering used for "toward retire": ``retire`` is the only verdict that acts against the
fine-tune; ``keep``, ``watch`` and ``inconclusive`` do not. So "more errors never move a
verdict toward retire" means: if a verdict is not ``retire``, adding errored items (to the
fine-tune or to any buy, leaving every other item as it was) never makes it ``retire``,
through any gate: quality, the flaky-buy rule and money. An errored call is recorded at $0,
as most failed calls are; the answered calls of a side cost the same (docs/statistics.md
says why no rule that sees only answered calls can promise more when they differ).
Fast settings (40 examples) run in CI.
"""

from dataclasses import replace
from datetime import date

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasks.decision import SideResults, WorkloadPolicy, decide
from tasks.decision.stats import t_interval, wilson_interval
from tests.decision.factory import inputs, policy, side

TODAY = date(2026, 11, 25)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def scores(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fine-tune scores, buy scores, errored mask for the base case) on 200 or 220 items.

    The buy's mean is drawn, the fine-tune agrees with it on most items and differs on a
    drawn share, so ratios land near the 0.95 bar as often as far from it.
    """
    n = draw(st.sampled_from([200, 220]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    buy_mean = draw(st.floats(0.3, 1.0))
    flip = draw(st.floats(0.0, 0.3))
    if draw(st.booleans()):  # binary
        buy = (rng.random(n) < buy_mean).astype(float)
        ft = np.where(rng.random(n) < flip, rng.random(n) < buy_mean * 0.9, buy).astype(float)
    else:  # continuous
        buy = np.clip(rng.normal(buy_mean, 0.15, n), 0.0, 1.0)
        ft = np.clip(buy - rng.normal(flip * 0.2, 0.1, n), 0.0, 1.0)
    errored = rng.random(n) < draw(st.sampled_from([0.0, 0.02, 0.06]))
    return ft, buy, errored


facts = st.builds(
    lambda case, volume, stable, examples, fixed: policy(
        case, volume=volume, task_stable=stable, domain_stable=stable, examples=examples,
        fixed=fixed,
    ),
    st.sampled_from(["cost_distillation", "domain_expertise"]),
    st.sampled_from([None, 5_000_000, 20_000_000]),
    st.sampled_from([True, None, False]),
    st.sampled_from([None, 2_000, 50_000]),
    st.sampled_from([0.0, 1_000.0, 1e9, 170_000.0]),
)  # fmt: skip
# 170,000/month is near break-even: buy 182,400 - fine-tune 12,160 a month at 20M calls/day
favourable = st.builds(
    lambda case: policy(case), st.sampled_from(["cost_distillation", "domain_expertise"])
)


def _with_errors(s: SideResults, extra: np.ndarray) -> SideResults:
    errored = s.errored | extra
    return replace(
        s,
        errored=errored,
        passed=s.passed & ~errored,
        scores=np.where(errored, np.nan, s.scores),
        cost_usd=np.where(extra, 0.0, s.cost_usd),  # a failed call is billed nothing
    )


def _decide(ft: SideResults, buy: SideResults, pol: WorkloadPolicy) -> str:
    return decide(inputs(ft, buy, pol=pol), rng_seed=3, today=TODAY).verdict


@SETTINGS
@given(data=scores(), pol=favourable, facts_pol=facts)
def test_identical_sides_never_retire(
    data: tuple[np.ndarray, np.ndarray, np.ndarray],
    pol: WorkloadPolicy,
    facts_pol: WorkloadPolicy,
) -> None:
    _, buy_scores, errored = data
    ft = side("ft", "fine_tune", buy_scores, errored=errored, cost=0.00002)
    buy = side("buy", "buy", buy_scores, errored=errored, cost=0.0003)
    # with the frame's other facts in favour, identical sides never retire...
    assert _decide(ft, buy, pol) != "retire"
    # ...and whatever the facts, the quality evidence itself never fails
    outcome = decide(inputs(ft, buy, pol=facts_pol), rng_seed=3, today=TODAY)
    quality = {g.name: g.status for g in outcome.gates}
    assert quality.get("quality_ratio", "pass") != "fail"
    assert quality.get("domain_margin", "pass") != "fail"


@SETTINGS
@given(
    data=scores(),
    pol=facts,
    extra_seed=st.integers(0, 2**32 - 1),
    share=st.floats(0.001, 0.12),
    where=st.sampled_from(["fine_tune", "buy", "second_buy", "everywhere"]),
    second=st.sampled_from([None, 0.9, 1.0, 1.1]),
)
def test_more_errors_never_move_a_verdict_toward_retire(
    data: tuple[np.ndarray, np.ndarray, np.ndarray],
    pol: WorkloadPolicy,
    extra_seed: int,
    share: float,
    where: str,
    second: float | None,
) -> None:
    ft_scores, buy_scores, errored = data
    ft = side("ft", "fine_tune", ft_scores, errored=errored)
    buys = [side("buy", "buy", buy_scores)]
    if second is not None:  # a second buy, a little worse or better, cheaper than the first
        noise = np.random.default_rng(extra_seed ^ 1).normal(0.0, 0.05, buy_scores.size)
        other = np.clip(buy_scores * second + noise, 0.0, 1.0)
        if set(np.unique(buy_scores)) <= {0.0, 1.0}:
            other = (other >= 0.5).astype(float)
        buys.append(side("buy2", "buy", other, cost=0.00025))
    before = decide(inputs(ft, *buys, pol=pol), rng_seed=3, today=TODAY).verdict
    rng = np.random.default_rng(extra_seed)
    n = ft_scores.size

    def more(target: str) -> np.ndarray:
        if where in (target, "everywhere"):
            return rng.random(n) < share
        return np.zeros(n, bool)

    ft_after = _with_errors(ft, more("fine_tune"))
    buys_after = [_with_errors(buys[0], more("buy"))]
    if len(buys) == 2:
        buys_after.append(_with_errors(buys[1], more("second_buy")))
    after = decide(inputs(ft_after, *buys_after, pol=pol), rng_seed=3, today=TODAY).verdict
    if before != "retire":
        assert after != "retire", (before, after)


@SETTINGS
@given(data=scores(), seed=st.integers(0, 1000))
def test_decision_intervals_contain_their_point_estimates(
    data: tuple[np.ndarray, np.ndarray, np.ndarray], seed: int
) -> None:
    ft_scores, buy_scores, errored = data
    ft = side("ft", "fine_tune", ft_scores, errored=errored)
    buy = side("buy", "buy", buy_scores)
    outcome = decide(inputs(ft, buy), rng_seed=seed, today=TODAY)
    for estimate in (
        outcome.comparison.ratio,
        outcome.comparison.difference,
        outcome.fine_tune.quality,
        outcome.buy.quality,
    ):
        assert estimate.contains(estimate.value), estimate


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 5000), data=st.data())
def test_wilson_contains_its_estimate(n: int, data: st.DataObject) -> None:
    k = data.draw(st.integers(0, n))
    e = wilson_interval(k, n)
    assert 0.0 <= e.low <= e.value <= e.high <= 1.0


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=300))
def test_t_interval_contains_its_estimate(values: list[float]) -> None:
    e = t_interval(np.array(values))
    assert 0.0 <= e.low <= e.value <= e.high <= 1.0
