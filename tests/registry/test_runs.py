"""Runs and item results: get-or-create, checkpoint upserts that never replace a success."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from registry.errors import InvalidValueError, NotFoundError
from registry.models import ErrorKind, RunStatus
from registry.runs import (
    ItemResultRow,
    finish_run,
    finished_item_keys,
    load_run_results,
    open_run,
    write_item_results,
)
from tests.registry.factories import Seeded, seed_workload


@pytest.fixture
def seeded(session_factory: Any) -> Seeded:
    with session_factory.begin() as session:
        return seed_workload(session, items=5)


def _open(factory: Any, seeded: Seeded, **kwargs: Any) -> int:
    with factory.begin() as session:
        run = open_run(
            session,
            candidate_id=seeded.fine_tune_id,
            eval_set_version_id=seeded.version_id,
            quarter="2026Q1",
            **kwargs,
        )
        return run.id


def test_open_run_is_get_or_create(session_factory: Any, seeded: Seeded) -> None:
    first = _open(session_factory, seeded, budget_usd=Decimal("5.00"))
    assert _open(session_factory, seeded) == first
    with session_factory.begin() as session:
        finish_run(session, first, RunStatus.INCOMPLETE, {"items": 3}, "ft-v1")
    assert _open(session_factory, seeded, budget_usd=10) == first
    with session_factory() as session:
        run = open_run(
            session,
            candidate_id=seeded.fine_tune_id,
            eval_set_version_id=seeded.version_id,
            quarter="2026Q1",
        )
        assert run.status == RunStatus.RUNNING and run.budget_usd == 10.0
        assert run.finished_at is None and run.started_at.tzinfo is not None


def test_results_checkpoint_and_resume(session_factory: Any, seeded: Seeded) -> None:
    run_id = _open(session_factory, seeded)
    keys = seeded.item_keys
    with session_factory.begin() as session:
        written = write_item_results(
            session,
            run_id,
            [
                ItemResultRow(
                    item_key=keys[0],
                    output="answer 0",
                    passed=True,
                    score=1.0,
                    prompt_tokens=10,
                    completion_tokens=2,
                    cost_usd=Decimal("0.001"),
                    latency_ms=12.5,
                ),
                ItemResultRow(
                    item_key=keys[1], error="HTTP 429", error_kind=ErrorKind.RATE_LIMIT, attempts=5
                ),
                {"item_key": keys[2], "output": "nope", "passed": False, "score": 0.0},
            ],
        )
    assert written == 3
    with session_factory() as session:
        assert finished_item_keys(session, run_id) == {keys[0], keys[2]}
    with session_factory.begin() as session:
        write_item_results(
            session,
            run_id,
            [
                # a retry of the errored item replaces it
                ItemResultRow(item_key=keys[1], output="answer 1", passed=True, score=1.0),
                # a late duplicate of a success is ignored
                ItemResultRow(item_key=keys[0], output="DIFFERENT", passed=False, score=0.0),
                ItemResultRow(item_key=keys[3], error="boom", error_kind="server"),
            ],
        )
    with session_factory() as session:
        assert finished_item_keys(session, run_id) == {keys[0], keys[1], keys[2]}
        results = load_run_results(session, run_id)
    assert [r.item_key for r in results] == list(keys)
    by_key = {r.item_key: r for r in results}
    assert by_key[keys[0]].output == "answer 0" and by_key[keys[0]].cost_usd == 0.001
    assert by_key[keys[0]].prompt_tokens == 10 and by_key[keys[0]].latency_ms == 12.5
    assert by_key[keys[1]].output == "answer 1" and by_key[keys[1]].error is None
    assert by_key[keys[3]].error_kind == ErrorKind.SERVER and by_key[keys[3]].has_result
    assert not by_key[keys[4]].has_result and by_key[keys[4]].target == "answer 4"


def test_success_wins_within_one_batch(session_factory: Any, seeded: Seeded) -> None:
    run_id = _open(session_factory, seeded)
    key = seeded.item_keys[0]
    with session_factory.begin() as session:
        write_item_results(
            session,
            run_id,
            [
                ItemResultRow(item_key=key, output="ok", passed=True, score=1.0),
                ItemResultRow(item_key=key, error="late error", error_kind="timeout"),
            ],
        )
    with session_factory() as session:
        assert finished_item_keys(session, run_id) == {key}


def test_large_batches(session_factory: Any) -> None:
    with session_factory.begin() as session:
        seeded = seed_workload(session, name="big", items=1200)
    run_id = _open(session_factory, seeded)
    with session_factory.begin() as session:
        rows = [
            ItemResultRow(item_key=k, output="x", passed=True, score=1.0) for k in seeded.item_keys
        ]
        assert write_item_results(session, run_id, rows) == 1200
    with session_factory() as session:
        assert len(finished_item_keys(session, run_id)) == 1200


def test_bad_inputs(session_factory: Any, seeded: Seeded) -> None:
    run_id = _open(session_factory, seeded)
    with session_factory() as session:
        with pytest.raises(NotFoundError, match="not in the run's eval-set version"):
            write_item_results(session, run_id, [ItemResultRow(item_key="nope", output="x")])
        with pytest.raises(InvalidValueError, match="bad error_kind"):
            write_item_results(
                session, run_id, [{"item_key": seeded.item_keys[0], "error_kind": "x"}]
            )
        with pytest.raises(InvalidValueError, match="bad quarter"):
            open_run(
                session,
                candidate_id=seeded.fine_tune_id,
                eval_set_version_id=seeded.version_id,
                quarter="2026-Q1",
            )
        with pytest.raises(InvalidValueError, match="final status"):
            finish_run(session, run_id, "running")
        with pytest.raises(NotFoundError):
            finish_run(session, 999_999, "complete")
