"""Every verdict path through ``decide``; each test names the rule of ``verdict.py`` (and the
frame's rule behind it) that it checks. 200 paired items unless the rule is about the count."""

from datetime import date

import numpy as np

from tasks.decision import DecisionOutcome, HistoryPoint, SideResults, decide
from tests.decision.factory import binary, inputs, policy, side

TODAY = date(2026, 11, 25)
N = 200


def _decide(ft: SideResults, buy: SideResults, **kw: object) -> DecisionOutcome:
    return decide(inputs(ft, buy, **kw), rng_seed=1, today=TODAY)  # type: ignore[arg-type]


def _gate(outcome: DecisionOutcome, name: str) -> str:
    return next(g.status for g in outcome.gates if g.name == name)


def _pair(ft_passes: int, buy_passes: int = N, n: int = N) -> tuple[SideResults, SideResults]:
    return side("ft", "fine_tune", binary(n, ft_passes)), side("buy", "buy", binary(n, buy_passes))


def test_rule1_frame_eval_set_under_200_items_is_inconclusive() -> None:
    outcome = _decide(*_pair(199, 199, n=199))
    assert (outcome.verdict, outcome.rule) == ("inconclusive", 1)
    assert outcome.notice_kind == "inconclusive"


def test_rule1_takes_precedence_over_a_failing_fact() -> None:
    outcome = _decide(*_pair(100, 199, n=199), pol=policy(volume=1.0))
    assert outcome.verdict == "inconclusive"


def test_rule2_errors_above_limit_are_counted_per_side_not_pooled() -> None:
    # fine-tune: 11 of 200 errored = 5.5% > 5%; pooled over both sides it would be 2.75%
    ft = side("ft", "fine_tune", binary(N, N), errored=[i < 11 for i in range(N)])
    outcome = _decide(ft, side("buy", "buy", binary(N, N)))
    assert (outcome.verdict, outcome.rule) == ("inconclusive", 2)
    assert _gate(outcome, "errors_fine_tune") == "fail"
    assert _gate(outcome, "errors_buy") == "pass"


def test_rule2_a_flaky_buy_whose_errors_could_decide_is_inconclusive_and_named() -> None:
    # the buy errored on 20 items (10%); the fine-tune fails exactly those 20 and passes the
    # rest. Read as failed, both score 180/200: ratio 1 (keep). Read as passed, the buy
    # scores 200/200 and the ratio is 0.9 with every difference against the fine-tune
    # (retire). The outage decides, so no verdict.
    ft = side("ft", "fine_tune", binary(N, range(20, N)))
    buy = side("flaky", "buy", binary(N, N), errored=[i < 20 for i in range(N)])
    outcome = _decide(ft, buy)
    assert (outcome.verdict, outcome.rule) == ("inconclusive", 2)
    gate = next(g for g in outcome.gates if g.name == "errors_buy")
    assert gate.status == "fail" and "flaky" in gate.evidence and "could decide" in gate.evidence
    assert any("flaky" in r for r in outcome.reasons)


def test_rule2_a_flaky_buy_whose_errors_cannot_decide_lets_the_verdict_stand() -> None:
    # a clear retire: the fine-tune passes 100 of 200; the buy errored on 11 (5.5%) and
    # passed the rest. Whatever those 11 scored, the fine-tune is eroded.
    ft = side("ft", "fine_tune", binary(N, 100))
    buy = side("buy", "buy", binary(N, N), errored=[i < 11 for i in range(N)])
    outcome = _decide(ft, buy)
    assert (outcome.verdict, outcome.rule) == ("retire", 5)
    gate = next(g for g in outcome.gates if g.name == "errors_buy")
    assert gate.status == "pass" and "whether its errored items all passed or all failed" in (
        gate.evidence
    )


def test_rule2_fine_tune_outage_never_retires() -> None:
    # the fine-tune's GPU worker crashed on 60 items: a provider problem, not erosion
    ft = side("ft", "fine_tune", binary(N, N), errored=[i < 60 for i in range(N)])
    outcome = _decide(ft, side("buy", "buy", binary(N, N)))
    assert (outcome.verdict, outcome.rule) == ("inconclusive", 2)


def test_rule3_errors_within_limit_are_bounded_not_dropped() -> None:
    # the fine-tune errored on 10 items the buy passed, and matched it on the other 190.
    # Dropped, the ratio would be 190/190 = 1 (keep). Counted as failed it is 190/200 = 0.95;
    # bounded, its interval runs from below 0.95 to above 1.0: borderline, so watch.
    ft = side("ft", "fine_tune", binary(N, N), errored=[i < 10 for i in range(N)])
    outcome = _decide(ft, side("buy", "buy", binary(N, N)))
    assert outcome.comparison.ratio.value == 0.95
    assert outcome.comparison.ratio.high >= 1.0
    assert outcome.comparison.ratio.low < 0.95
    assert (outcome.verdict, outcome.rule) == ("watch", 6)
    assert outcome.fine_tune.n_errors == 10


def test_rule4_design_interval_too_wide_to_tell_is_inconclusive() -> None:
    # buy passes 20 of 200 (mean 0.1), the fine-tune 19 other items: ratio 0.95, and with
    # so few passes and no agreement the ratio's interval spans well over 0.5
    ft = side("ft", "fine_tune", binary(N, range(100, 119)))
    buy = side("buy", "buy", binary(N, 20))
    outcome = _decide(ft, buy)
    assert outcome.comparison.ratio.value == 0.95
    assert outcome.comparison.ratio.width > 0.5
    assert (outcome.verdict, outcome.rule) == ("inconclusive", 4)


def test_rule5_frame_case1_quality_below_95_percent_for_certain_retires() -> None:
    # ratio 150/200 = 0.75; the upper bound is far below 0.95
    outcome = _decide(*_pair(150))
    assert _gate(outcome, "quality_ratio") == "fail"
    assert (outcome.verdict, outcome.rule) == ("retire", 5)
    assert outcome.notice_kind == "retire"
    assert "Retire ft" in outcome.recommended_action


def test_rule5_frame_case1_volume_below_10m_retires_even_at_equal_quality() -> None:
    outcome = _decide(*_pair(N), pol=policy(volume=2_000_000))
    assert _gate(outcome, "volume") == "fail"
    assert outcome.verdict == "retire"


def test_rule5_frame_case1_unstable_task_retires() -> None:
    outcome = _decide(*_pair(N), pol=policy(task_stable=False))
    assert outcome.verdict == "retire"


def test_rule5_frame_case1_no_net_savings_retires() -> None:
    # fine-tune per call costs what the buy does, and it has fixed costs on top
    ft = side("ft", "fine_tune", binary(N, N), cost=0.0003)
    outcome = _decide(ft, side("buy", "buy", binary(N, N)))
    assert _gate(outcome, "net_savings") == "fail"
    assert outcome.verdict == "retire"
    assert "saves about" in outcome.recommended_action


def test_rule5_frame_case2_buy_better_for_certain_retires() -> None:
    outcome = _decide(*_pair(150), pol=policy("domain_expertise"))
    assert _gate(outcome, "domain_margin") == "fail"
    assert outcome.verdict == "retire"


def test_rule5_frame_case2_fewer_than_10k_examples_retires() -> None:
    ft = side("ft", "fine_tune", binary(N, N))
    buy = side("buy", "buy", binary(N, 150))
    outcome = _decide(ft, buy, pol=policy("domain_expertise", examples=5_000))
    assert _gate(outcome, "domain_margin") == "pass"
    assert outcome.verdict == "retire"


def test_rule5_frame_case2_unstable_domain_retires() -> None:
    ft = side("ft", "fine_tune", binary(N, N))
    buy = side("buy", "buy", binary(N, 150))
    outcome = _decide(ft, buy, pol=policy("domain_expertise", domain_stable=False))
    assert outcome.verdict == "retire"


def test_rule6_frame_case1_borderline_ratio_is_watch_never_retire() -> None:
    # ratio 190/200 = 0.95, interval straddles the bar
    outcome = _decide(*_pair(190))
    assert _gate(outcome, "quality_ratio") == "unknown"
    assert (outcome.verdict, outcome.rule) == ("watch", 6)
    assert outcome.notice_kind == "watch"


def test_rule6_undeclared_facts_are_watch_never_retire() -> None:
    outcome = _decide(*_pair(N), pol=policy(volume=None, task_stable=None))
    assert _gate(outcome, "volume") == "unknown"
    assert _gate(outcome, "net_savings") == "unknown"
    assert outcome.verdict == "watch"


def test_rule6_task_changed_this_quarter_is_watch() -> None:
    outcome = _decide(*_pair(N), task_changed=True)
    assert outcome.verdict == "watch"


def test_rule6_frame_case2_a_tie_is_watch_not_retire() -> None:
    outcome = _decide(*_pair(N), pol=policy("domain_expertise", examples=None))
    assert _gate(outcome, "domain_margin") == "unknown"
    assert outcome.verdict == "watch"


def test_rule7_frame_quarterly_relitigation_erosion_within_horizon_turns_keep_into_watch() -> None:
    # ratio now 1.0 (passes), but it was 1.20 and 1.10 in the last two quarters: slope -0.10,
    # projected to reach 0.95 within one quarter
    history = [HistoryPoint("2026Q2", 1.20), HistoryPoint("2026Q3", 1.10)]
    outcome = _decide(*_pair(N), history=history)
    assert outcome.trend.within_horizon
    assert (outcome.verdict, outcome.rule) == ("watch", 7)
    assert outcome.trend.projected_erosion_quarter == "2027Q1"


def test_rule7_erosion_beyond_horizon_keeps() -> None:
    history = [HistoryPoint("2026Q2", 1.02), HistoryPoint("2026Q3", 1.01)]
    outcome = _decide(*_pair(N), history=history)
    assert outcome.trend.quarters_to_erosion == 5
    assert outcome.verdict == "keep"


def test_rule8_frame_case1_all_gates_pass_keeps() -> None:
    outcome = _decide(*_pair(N))
    assert (outcome.verdict, outcome.rule) == ("keep", 8)
    assert outcome.notice_kind is None
    assert all(g.status == "pass" for g in outcome.gates)


def test_rule8_frame_case2_significant_margin_keeps() -> None:
    ft = side("ft", "fine_tune", binary(N, N))
    outcome = _decide(ft, side("buy", "buy", binary(N, 170)), pol=policy("domain_expertise"))
    assert outcome.comparison.difference.value == 0.15
    assert (outcome.verdict, outcome.rule) == ("keep", 8)


def test_continuous_scores_use_t_intervals_and_still_decide() -> None:
    rng = np.random.default_rng(3)
    base = rng.uniform(0.6, 1.0, N)
    ft = side("ft", "fine_tune", base)
    buy = side("buy", "buy", np.clip(base + 0.02, 0, 1))
    outcome = _decide(ft, buy)
    assert outcome.fine_tune.quality.method == "t"
    assert outcome.verdict == "keep"  # ratio about 0.975 with a tight paired interval
