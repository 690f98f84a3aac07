"""The proposal checks, pure: the break-even volume, where quality stops improving, and the
recommendation (buy unless every gate of the case passes)."""

from __future__ import annotations

import math

import pytest

from tasks.decision.proposal import (
    BuildFacts,
    ProposalFacts,
    VariantRun,
    assess_proposal,
    break_even_volume,
    plateau_of,
)
from tasks.decision.proposal_memo import render_proposal_memo
from tasks.decision.sides import summarize
from tests.decision.factory import binary, side

N = 200


def _run(buy: str, variant: str, passes: int, cost: float = 0.0001) -> VariantRun:
    s = side(buy, "buy", binary(N, passes), cost=cost)
    return VariantRun(buy, variant, summarize(s, alpha=0.05))


@pytest.mark.parametrize(
    ("buy", "ft", "fixed", "expected"),
    [
        (0.0001, 0.00001, 27_360.0, 10_000_000.0),  # 27,360 / (0.00009 x 30.4)
        (0.0001, 0.0001, 1_000.0, math.inf),  # no per-call saving: never pays back
        (0.0001, None, 1_000.0, None),  # fine-tune cost unknown
        (0.0001, 0.00001, 0.0, 0.0),  # no fixed costs: pays back at once
    ],
)
def test_break_even_volume(
    buy: float, ft: float | None, fixed: float, expected: float | None
) -> None:
    got = break_even_volume(buy_cost_per_call=buy, fine_tune_cost_per_call=ft, fixed_monthly=fixed)
    assert got == (pytest.approx(expected) if expected not in (None, math.inf) else expected)


def test_plateau_is_the_first_variant_near_the_best() -> None:
    runs = [_run("a", "bare", 150), _run("a", "labels", 180), _run("a", "3-shot", 181)]
    p = plateau_of("a", runs, tolerance=0.01)
    assert (p.stops_at, p.plateaued) == ("labels", True)
    still = plateau_of("a", runs[:2], tolerance=0.01)
    assert (still.stops_at, still.plateaued) == ("labels", False)
    assert "try more prompting" in still.sentence()


def _facts(**kw: object) -> ProposalFacts:
    base: dict[str, object] = {
        "name": "p", "case": "cost_distillation", "volume_per_day": 20_000_000.0,
        "fixed_costs_monthly_usd": 1_000.0, "task_stable": True,
        "fine_tune_cost_per_call_usd": 0.00001,
    }  # fmt: skip
    return ProposalFacts(**(base | kw))  # type: ignore[arg-type]


def test_cost_case_needs_volume_stability_break_even_and_a_checkpoint() -> None:
    runs = [_run("a", "bare", 180), _run("b", "bare", 170, cost=0.00005)]
    ft = summarize(side("ckpt", "fine_tune", binary(N, 178), cost=0.00001), alpha=0.05)
    ok = assess_proposal(_facts(), runs, fine_tune=ft, n_items=N)
    assert ok.recommendation == "fine_tune" and ok.best.buy == "a"
    low = assess_proposal(_facts(volume_per_day=3_000_000.0), runs, fine_tune=ft, n_items=N)
    assert low.recommendation == "buy" and any("3,000,000" in r for r in low.reasons)
    blind = assess_proposal(_facts(), runs, n_items=N)  # no checkpoint: quality unknown
    assert blind.recommendation == "buy" and any("not shown" in r for r in blind.reasons)
    few = assess_proposal(_facts(), runs, fine_tune=ft, n_items=150)
    assert few.recommendation == "buy"
    memo = render_proposal_memo(ok, decided_on="2026-11-25")
    assert "**Recommendation: FINE-TUNE" in memo and "Break-even volume" in memo


def test_domain_case_needs_a_plateau_under_the_target_and_examples() -> None:
    runs = [_run("a", "bare", 120), _run("a", "expert", 140), _run("a", "5-shot", 141)]
    facts = _facts(case="domain_expertise", training_examples=12_000, domain_stable=True)
    assert assess_proposal(facts, runs, n_items=N).recommendation == "buy"  # no target
    target = _facts(case="domain_expertise", training_examples=12_000, domain_stable=True,
                    quality_target=0.9)  # fmt: skip
    assert assess_proposal(target, runs, n_items=N).recommendation == "fine_tune"
    reached = _facts(case="domain_expertise", training_examples=12_000, domain_stable=True,
                     quality_target=0.6)  # fmt: skip
    assert assess_proposal(reached, runs, n_items=N).recommendation == "buy"
    thin = _facts(case="domain_expertise", training_examples=4_000, domain_stable=True,
                  quality_target=0.9)  # fmt: skip
    assert assess_proposal(thin, runs, n_items=N).recommendation == "buy"


def test_build_only_when_every_build_gate_fires() -> None:
    runs = [_run("a", "bare", 180)]
    yes = BuildFacts(proprietary_tokens=2e11, strategic_asset=True, capital_usd=8e7)
    no = BuildFacts(proprietary_tokens=2e11, strategic_asset=False, capital_usd=8e7)

    def verdict(build: BuildFacts | None) -> str:
        return assess_proposal(
            _facts(volume_per_day=1_000.0, build=build), runs, n_items=N
        ).recommendation

    assert (verdict(yes), verdict(no), verdict(None)) == ("build", "buy", "buy")
