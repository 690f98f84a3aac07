"""What ``run`` and ``demo`` print about sequential evaluation's saving."""

from __future__ import annotations

from typing import Any

from relitigate.cli.sequential_view import frontier_calls, saving_sentence
from tasks.decide import DecisionSummary


def _row(name: str, sequential: dict[str, Any] | None, *, reused: bool = False) -> DecisionSummary:
    return DecisionSummary(
        workload=name, quarter="2026Q2", verdict="keep", advantage=1.1, reasons=[],
        notice_kind=None, memo_path=None, reused=reused, sequential=sequential,
    )  # fmt: skip


def test_the_calls_and_the_saving_are_shown() -> None:
    stopped = {"items_total": 400, "buy_items": {"a": 200, "b": 200}, "stopped_at_wave": 1,
               "saved_usd": 0.5}  # fmt: skip
    full = {"items_total": 400, "buy_items": {"a": 400}, "stopped_at_wave": None,
            "saved_usd": 0.0}  # fmt: skip
    assert frontier_calls(_row("x", stopped)) == "200/400 (stopped at wave 1)"
    assert frontier_calls(_row("y", full)) == "400/400 (full)"
    assert frontier_calls(_row("z", None)) == ""
    line = saving_sentence([_row("x", stopped), _row("y", full), _row("z", None)])
    assert line is not None
    assert "1 of 2 decision(s) settled early" in line
    assert "800 of a full run's 1,200 items (67%)" in line and "$0.5000" in line
    assert saving_sentence([_row("z", None), _row("x", stopped, reused=True)]) is None
