"""Decisions: one per (workload, quarter); replace on request; history in quarter order."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from registry.decisions import decision_history, get_decision, save_decision
from registry.errors import ConflictError, InvalidValueError
from registry.models import Verdict
from tests.registry.factories import seed_workload


def _save(session: Any, workload_id: int, quarter: str, verdict: str, **kwargs: Any) -> Any:
    return save_decision(
        session,
        workload_id=workload_id,
        quarter=quarter,
        verdict=verdict,
        metrics={"ratio": 0.97},
        gates=[{"name": "quality", "outcome": "pass"}],
        trend={"slope": -0.01},
        reproducibility={"eval_set_hash": "abc"},
        memo="# memo",
        next_review=date(2026, 7, 1),
        fine_tune_run_id=None,
        buy_run_id=None,
        **kwargs,
    )


def test_save_conflict_replace_and_history(session_factory: Any) -> None:
    with session_factory.begin() as session:
        workload_id = seed_workload(session).workload_id
        _save(session, workload_id, "2026Q2", "watch")
        _save(session, workload_id, "2025Q4", "keep")
        _save(session, workload_id, "2026Q1", Verdict.KEEP)
    with session_factory() as session, pytest.raises(ConflictError, match="already exists"):
        _save(session, workload_id, "2026Q2", "retire")
    with session_factory.begin() as session:
        _save(session, workload_id, "2026Q2", "retire", replace=True)
    with session_factory() as session:
        history = decision_history(session, workload_id)
        assert [(d.quarter, d.verdict) for d in history] == [
            ("2025Q4", "keep"),
            ("2026Q1", "keep"),
            ("2026Q2", "retire"),
        ]
        latest = get_decision(session, workload_id, "2026Q2")
        assert latest is not None and latest.gates == [{"name": "quality", "outcome": "pass"}]
        assert latest.next_review == date(2026, 7, 1)
        assert get_decision(session, workload_id, "2024Q1") is None


def test_bad_verdict_and_quarter(session_factory: Any) -> None:
    with session_factory() as session:
        workload_id = seed_workload(session).workload_id
        with pytest.raises(InvalidValueError, match="bad verdict"):
            _save(session, workload_id, "2026Q2", "maybe")
        with pytest.raises(InvalidValueError, match="bad quarter"):
            _save(session, workload_id, "2026Q5", "keep")
