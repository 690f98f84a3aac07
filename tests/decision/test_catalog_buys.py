"""A larger buy catalog never makes a false retire more likely (Holm's correction)."""

from __future__ import annotations

from datetime import date

import pytest

from tasks.decision import decide
from tasks.decision.outcome import DecisionOutcome
from tests.decision.factory import binary, inputs, side

N = 400


def _outcome(ft_passes: int, buy_passes: int, copies: int) -> DecisionOutcome:
    ft = side("ft", "fine_tune", binary(N, ft_passes))
    buys = [side(f"buy{i}", "buy", binary(N, buy_passes)) for i in range(copies)]
    return decide(inputs(ft, *buys), rng_seed=0, today=date(2026, 12, 1))


@pytest.mark.parametrize("ft_passes", [340, 350, 352, 358, 380])
def test_identical_buys_only_make_erosion_harder_to_show(ft_passes: int) -> None:
    verdicts, p_values = [], []
    for copies in (1, 2, 4, 8):
        outcome = _outcome(ft_passes, 380, copies)
        verdicts.append(outcome.verdict)
        p_values.append(min(c.p_adjusted for c in outcome.comparisons))
        assert len({c.p_adjusted for c in outcome.comparisons}) == 1  # the same test, k times
    assert p_values == sorted(p_values)  # more copies: a larger adjusted p-value
    if verdicts[0] != "retire":
        assert "retire" not in verdicts
    # once a copy no longer retires, no larger catalog does
    first_other = next((i for i, v in enumerate(verdicts) if v != "retire"), len(verdicts))
    assert all(v != "retire" for v in verdicts[first_other:])


def test_a_borderline_erosion_against_one_buy_does_not_retire_against_eight_copies() -> None:
    assert _outcome(350, 380, 1).verdict == "retire"
    assert _outcome(350, 380, 8).verdict == "watch"
