"""Sequential evaluations: opened once with their seed, every look recorded, re-walks allowed."""

from __future__ import annotations

from typing import Any

import pytest

from registry.errors import InvalidValueError
from registry.waves import get_sequential, open_sequential, record_look
from tests.registry.factories import seed_workload


def _open(session: Any, workload_id: int, seed: int) -> Any:
    return open_sequential(
        session, workload_id=workload_id, quarter="2026Q2", attempt=1, seed=seed,
        spending="obrien_fleming", wave_sizes=[200, 300, 400], items_total=400,
    )  # fmt: skip


def _look(wave: int, step: str) -> dict[str, Any]:
    return {"wave": wave, "items": 100 + 100 * wave, "step": step, "reason": f"{step} {wave}"}


def _usage(used: int) -> dict[str, Any]:
    return {"items_used": used, "buy_items": {"frontier": used}, "buy_spend_usd": 0.02,
            "saved_usd": 0.01}  # fmt: skip


def test_opened_once_its_seed_kept_and_looks_recorded(session_factory: Any) -> None:
    with session_factory.begin() as session:
        workload_id = seed_workload(session).workload_id
        first = _open(session, workload_id, seed=11)
        again = _open(session, workload_id, seed=99)  # a re-run never re-seeds
        assert again.id == first.id and again.seed == 11
        for wave, step in ((1, "continue"), (2, "retire")):
            record_look(session, first.id, look=_look(wave, step),
                        state="running" if step == "continue" else "stopped",
                        usage=_usage(100 + 100 * wave))  # fmt: skip
    with session_factory.begin() as session:
        row = get_sequential(session, workload_id=workload_id, quarter="2026Q2", attempt=1)
        assert row is not None
        assert (row.state, row.stopped_at_wave, row.waves_done, row.items_used) == (
            "stopped",
            2,
            2,
            300,
        )
        assert [look["step"] for look in row.looks] == ["continue", "retire"]
        # run --force walks the waves again: wave 1's look replaces the later ones' record,
        # the waves called stay counted
        record_look(session, row.id, look=_look(1, "keep"), state="stopped", usage=_usage(200))
    with session_factory.begin() as session:
        row = get_sequential(session, workload_id=workload_id, quarter="2026Q2", attempt=1)
        assert row is not None
        assert [look["step"] for look in row.looks] == ["keep"]
        assert (row.stopped_at_wave, row.waves_done) == (1, 2)
        assert get_sequential(session, workload_id=workload_id, quarter="2026Q2", attempt=2) is None


def test_bad_waves_and_states_are_refused(session_factory: Any) -> None:
    with session_factory.begin() as session:
        workload_id = seed_workload(session).workload_id
        with pytest.raises(InvalidValueError, match="must end at"):
            open_sequential(
                session, workload_id=workload_id, quarter="2026Q2", attempt=1, seed=1,
                spending="obrien_fleming", wave_sizes=[200, 300], items_total=400,
            )  # fmt: skip
        row = _open(session, workload_id, seed=1)
        with pytest.raises(InvalidValueError, match="bad sequential state"):
            record_look(session, row.id, look=_look(1, "x"), state="paused", usage=_usage(200))
