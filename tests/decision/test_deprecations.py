"""Deprecations: a deprecating buy leaves the comparison; a deprecating fine-tune is watched."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from registry.models import Workload
from tasks.decision import decide
from tasks.decision.deprecations import (
    DEPRECATION_RULE,
    RouteDeprecation,
    compared_buys,
    review_deprecations,
    with_deprecations,
    without_deprecated,
)
from tasks.decision.outcome import DecisionOutcome
from tasks.mapping import notice_facts
from tasks.notify import plan_notice
from tasks.notify.message import fallback_text
from tests.decision.factory import binary, inputs, side

TODAY = date(2026, 12, 1)
N = 400


def _dates(**routes: date) -> dict[str, RouteDeprecation]:
    return {
        f"test/{name}": RouteDeprecation(f"test/{name}", on, "declared")
        for name, on in routes.items()
    }


def _decide(
    dates: dict[str, RouteDeprecation], *, base_model: str | None = None, horizon: int = 90
) -> DecisionOutcome:
    ft = side("ft", "fine_tune", binary(N, 330))
    strong = side("strong", "buy", binary(N, 399))  # would erode the fine-tune
    weak = side("weak", "buy", binary(N, 300))
    given = inputs(ft, strong, weak)
    review = review_deprecations(
        [(b.name, b.route) for b in given.buys], fine_tune_route=ft.route,
        base_model=base_model, dates=dates, today=TODAY, horizon_days=horizon,
    )  # fmt: skip
    outcome = decide(without_deprecated(given, review), rng_seed=0, today=TODAY)
    return with_deprecations(outcome, review)


def test_a_deprecating_buy_leaves_and_the_best_remaining_one_is_compared() -> None:
    assert _decide({}).verdict == "retire"  # against the strong buy
    outcome = _decide(_dates(strong=date(2027, 1, 31)))
    assert [b.name for b in outcome.buys] == ["weak"]
    assert outcome.verdict == "keep"
    assert any("strong left the comparison" in r for r in outcome.reasons)
    assert "strong left the comparison" in outcome.memo


def test_beyond_the_horizon_nothing_changes() -> None:
    outcome = _decide(_dates(strong=date(2027, 6, 1)))
    assert outcome.verdict == "retire" and [b.name for b in outcome.buys] == ["strong", "weak"]


def test_every_buy_deprecating_keeps_them_all_with_a_note() -> None:
    outcome = _decide(_dates(strong=date(2027, 1, 1), weak=date(2026, 11, 1)))
    assert outcome.verdict == "retire"
    assert any("every buy alternative is deprecating" in r for r in outcome.reasons)


@pytest.mark.parametrize("route", ["test/ft", "test/base"])
def test_a_deprecating_fine_tune_turns_keep_into_watch_with_a_notice(route: str) -> None:
    dates = {route: RouteDeprecation(route, date(2027, 2, 1), "litellm")}
    outcome = _decide(dates | _dates(strong=date(2027, 1, 1)), base_model="test/base")
    assert outcome.verdict == "watch" and outcome.rule == DEPRECATION_RULE
    assert outcome.notice_kind == "watch"
    assert "2027-02-01" in outcome.recommended_action
    assert route in outcome.memo
    plan = plan_notice(outcome.verdict, previous=None)
    assert plan is not None and plan.kind == "watch"
    # the owner's notice says what goes away and when, not that the fine-tune erodes
    what = "base model" if route == "test/base" else "serving route"
    text = fallback_text(notice_facts(outcome, Workload(name="w", volume_per_day=1000)))
    assert text.startswith("Watch: w fine-tune's model is being deprecated (2026Q4).")
    assert f"but the fine-tune's {what} {route} is deprecated on 2027-02-01 (litellm)" in text
    assert "erodes" not in text


def test_a_watch_of_the_trend_keeps_its_own_notice() -> None:
    ft = side("ft", "fine_tune", binary(N, 330))
    outcome = decide(inputs(ft, side("weak", "buy", binary(N, 300))), rng_seed=0, today=TODAY)
    watched = dataclasses.replace(outcome, verdict="watch", notice_kind="watch")
    facts = notice_facts(watched, Workload(name="w", volume_per_day=1000))
    assert facts.deprecation is None
    assert fallback_text(facts).startswith("Watch: w fine-tune is eroding (2026Q4).")


def test_a_retire_stays_retire_with_the_note() -> None:
    outcome = _decide({"test/ft": RouteDeprecation("test/ft", date(2026, 12, 20), "declared")})
    assert outcome.verdict == "retire"
    assert any("serving route test/ft is deprecated on 2026-12-20" in r for r in outcome.reasons)
    assert outcome.recommended_action.endswith(
        "Note: test/ft is deprecated on 2026-12-20 (declared)."
    )


def test_the_buys_compared_are_those_benchmarked() -> None:
    buys = [("strong", "test/strong"), ("weak", "test/weak")]

    def compared(**routes: date) -> tuple[str, ...]:
        review = review_deprecations(
            buys, fine_tune_route="test/ft", base_model=None, dates=_dates(**routes),
            today=TODAY, horizon_days=90,
        )  # fmt: skip
        return compared_buys([name for name, _ in buys], review)

    assert compared() == ("strong", "weak")
    assert compared(strong=date(2027, 1, 31)) == ("weak",)
    # every buy deprecating: all stay, or there would be nothing to compare against
    assert compared(strong=date(2027, 1, 1), weak=date(2026, 11, 1)) == ("strong", "weak")
