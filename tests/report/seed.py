"""Decisions written through the registry repositories, shaped like ``tasks/decide.py``'s."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from registry.decisions import save_decision
from registry.models import Candidate
from registry.notices import enqueue_notice
from tests.registry.factories import Seeded, seed_workload


def side(name: str, route: str, quality: float, cost: float) -> dict[str, Any]:
    """A side summary as ``DecisionOutcome.metrics()`` stores it."""
    return {
        "name": name,
        "route": route,
        "quality": {"value": quality, "low": quality - 0.03, "high": quality + 0.02},
        "cost_per_useful_task_usd": cost,
    }


def metrics(
    *,
    ft_quality: float,
    buy_quality: float,
    savings: float,
    buy_route: str = "openai/sim-frontier",
    reasons: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The ``metrics`` JSON column of one decision."""
    ratio = ft_quality / buy_quality
    return {
        "n_items": 400,
        "fine_tune": side("ft", "openai/sim-ft", ft_quality, 4e-6),
        "buy": side("frontier", buy_route, buy_quality, 5e-5),
        "ratio": {"value": ratio, "low": ratio - 0.04, "high": ratio + 0.04, "method": "b"},
        "difference": {"value": ft_quality - buy_quality, "low": -0.1, "high": 0.1},
        "money": {"volume_per_day": 12_000_000.0, "net_monthly_savings_usd": savings},
        "buys": [],
        "reasons": list(reasons),
    }


def decide(
    session: Session,
    seeded: Seeded,
    quarter: str,
    verdict: str,
    *,
    ft_quality: float = 0.9,
    buy_quality: float = 0.8,
    savings: float = 1000.0,
    buy_route: str = "openai/sim-frontier",
    erosion: str | None = None,
    age: int | None = 4,
    failed: tuple[str, ...] = (),
    reasons: tuple[str, ...] = (),
    notice: str | None = None,
) -> int:
    """Record one decision (and its notice); returns the decision id."""
    gates = [
        {"name": "volume", "status": "pass", "evidence": "ok"},
        *({"name": name, "status": "fail", "evidence": f"{name} failed"} for name in failed),
    ]
    decision = save_decision(
        session,
        workload_id=seeded.workload_id,
        quarter=quarter,
        verdict=verdict,
        metrics=metrics(
            ft_quality=ft_quality,
            buy_quality=buy_quality,
            savings=savings,
            buy_route=buy_route,
            reasons=reasons,
        ),
        gates=gates,
        trend={
            "metric": "quality ratio",
            "threshold": 0.95,
            "projected_erosion_quarter": erosion,
            "quarters_to_erosion": None,
            "quarters_since_adoption": age,
            "life_stage": "expected_window",
        },
        reproducibility={"recommended_action": f"{verdict} action"},
        memo="memo",
        next_review=None,
        fine_tune_run_id=None,
        buy_run_id=None,
    )
    if notice is not None:
        enqueue_notice(
            session,
            decision_id=decision.id,
            workload_id=seeded.workload_id,
            quarter=quarter,
            kind=notice,
            destination=None,
            payload={"text": notice},
        )
    return decision.id


def keyed(seeded: Seeded, session: Session, *, key_env: str = "SIM_KEY") -> None:
    """Give the seeded candidates an API base and a key variable name."""
    for candidate_id in (seeded.fine_tune_id, seeded.buy_id):
        candidate = session.get(Candidate, candidate_id)
        assert candidate is not None
        candidate.api_base = "http://127.0.0.1:9/v1"
        candidate.api_key_env = key_env


def seed_registry(session: Session) -> dict[str, Seeded]:
    """Four workloads, four quarters: keep, watch -> retire, inconclusive, undecided.

    - ``alpha``: keep every quarter; 2026Q2 missing.
    - ``bravo``: keep, keep, watch, retire (retire notice pending).
    - ``charlie``: keep, retire, inconclusive (routes stay on the buy alternative).
    - ``delta``: keep, then inconclusive (routes stay on the fine-tune).
    - ``echo``: never decided.
    """
    seeded = {name: seed_workload(session, name=name) for name in ("alpha", "bravo", "charlie",
                                                                      "delta", "echo")}  # fmt: skip
    for s in seeded.values():
        keyed(s, session)
    for q in ("2026Q1", "2026Q3", "2026Q4"):
        decide(session, seeded["alpha"], q, "keep", savings=2000.0)
    decide(session, seeded["bravo"], "2026Q1", "keep", ft_quality=0.9, buy_quality=0.7)
    decide(session, seeded["bravo"], "2026Q2", "keep", ft_quality=0.9, buy_quality=0.8)
    decide(
        session, seeded["bravo"], "2026Q3", "watch", ft_quality=0.9, buy_quality=0.88,
        erosion="2026Q4", savings=5000.0, notice="watch",
    )  # fmt: skip
    decide(
        session, seeded["bravo"], "2026Q4", "retire", ft_quality=0.88, buy_quality=0.97,
        erosion="2026Q4", savings=5000.0, failed=("quality_ratio",), age=7,
        reasons=("quality ratio 0.907: eroded",), buy_route="openai/frontier-2026q4",
        notice="retire",
    )  # fmt: skip
    decide(session, seeded["charlie"], "2026Q2", "keep")
    decide(
        session, seeded["charlie"], "2026Q3", "retire", savings=-300.0,
        buy_route="openai/frontier-2026q3", failed=("net_savings",),
    )  # fmt: skip
    decide(
        session, seeded["charlie"], "2026Q4", "inconclusive", savings=-250.0,
        buy_route="openai/frontier-2026q4", failed=("errors_buy",),
        reasons=("frontier: 30% of items errored",), notice="inconclusive",
    )  # fmt: skip
    decide(session, seeded["delta"], "2026Q3", "keep", savings=700.0)
    decide(
        session, seeded["delta"], "2026Q4", "inconclusive", savings=650.0,
        failed=("eval_items",), reasons=("150 items < 200",),
    )  # fmt: skip
    return seeded
