"""Runs and item results: get-or-create, checkpoint upserts that never replace a success,
attempts counted across tries, retry passes, attempts of a quarter, per-pass statistics."""

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
    get_run,
    grant_retry_pass,
    items_to_call,
    latest_attempt,
    load_run_results,
    open_run,
    runs_for,
    with_pass,
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


def _errored(key: str, attempts: int, kind: str = "server") -> ItemResultRow:
    return ItemResultRow(item_key=key, error=f"HTTP 500 x{attempts}", error_kind=kind,
                         attempts=attempts)  # fmt: skip


def test_an_item_is_retried_only_within_its_attempts_until_a_retry_pass_is_granted(
    session_factory: Any, seeded: Seeded
) -> None:
    run_id = _open(session_factory, seeded)
    k = seeded.item_keys
    with session_factory.begin() as session:
        write_item_results(
            session,
            run_id,
            [
                ItemResultRow(item_key=k[0], output="answer 0", passed=True, score=1.0),
                _errored(k[1], 3),  # used up max_attempts=3
                _errored(k[2], 2),  # a try that stopped short (e.g. killed): one attempt left
                _errored(k[3], 3, kind="permanent"),  # retrying cannot help
            ],
        )
    with session_factory() as session:
        plain = items_to_call(session, run_id, max_attempts=3)
    assert plain.skip_keys == {k[0], k[1], k[3]}  # k[4] has no result: called
    assert plain.prior_attempts == {k[2]: 2}
    assert (plain.exhausted, plain.retryable) == (2, 1)

    with session_factory.begin() as session:
        assert grant_retry_pass(session, run_id, 1)
        assert not grant_retry_pass(session, run_id, 1)  # a second grant of the level: no-op
    with session_factory() as session:
        retry = items_to_call(session, run_id, max_attempts=3)
    assert retry.skip_keys == {k[0], k[3]}
    assert retry.prior_attempts == {k[1]: 3, k[2]: 2}

    # the retry's results carry the total (the task adds the prior attempts): used up again
    with session_factory.begin() as session:
        write_item_results(session, run_id, [_errored(k[1], 6), _errored(k[2], 6)])
    with session_factory() as session:
        after = items_to_call(session, run_id, max_attempts=3)
        attempts = {r.item_key: r.attempts for r in load_run_results(session, run_id)}
    assert after.skip_keys == {k[0], k[1], k[2], k[3]} and after.prior_attempts == {}
    assert attempts[k[1]] == attempts[k[2]] == 6


def test_attempts_are_separate_runs_and_every_pass_keeps_its_stats(
    session_factory: Any, seeded: Seeded
) -> None:
    first = _open(session_factory, seeded)
    with session_factory.begin() as session:
        finish_run(session, first, RunStatus.COMPLETE, {"pass": "main", "items_done": 5}, "v1")
        finish_run(session, first, RunStatus.COMPLETE, {"pass": "retry", "items_done": 2}, "v1")
    second = _open(session_factory, seeded, attempt=2)
    assert second != first
    with session_factory.begin() as session:
        write_item_results(session, second, [_errored(seeded.item_keys[0], 1)])
        assert latest_attempt(
            session, candidate_ids=[seeded.fine_tune_id, seeded.buy_id],
            eval_set_version_id=seeded.version_id, quarter="2026Q1",
        ) == 2  # fmt: skip
        stats = get_run(session, first).stats
        runs = runs_for(session, candidate_ids=[seeded.fine_tune_id], quarter="2026Q1", attempt=1)
    assert [r.id for r in runs] == [first]
    assert [p["pass"] for p in stats["passes"]] == ["main", "retry"]
    assert stats["items_done"] == 5  # the pass that called the most items is on top
    with session_factory() as session:  # the first attempt's results are untouched
        assert finished_item_keys(session, first) == set()
        assert [r.has_result for r in load_run_results(session, first)] == [False] * 5
    assert with_pass({"items_done": 4, "wall_s": 1.0}, {"items_done": 1})["passes"] == [
        {"items_done": 4, "wall_s": 1.0},
        {"items_done": 1},
    ]  # stats stored before passes were kept count as the first pass


def _migrate(url: str, revision: str, *, down: bool = False) -> None:
    from alembic import command
    from alembic.config import Config

    from registry.db import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = url
    (command.downgrade if down else command.upgrade)(config, revision)


def test_migration_0003_makes_existing_runs_attempt_1_and_downgrades_only_without_later_ones(
    database_url: str,
) -> None:
    import sqlalchemy as sa

    from registry.db import make_engine

    _migrate(database_url, "0002")
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:  # a 0002 registry with one run and one decision
            conn.execute(sa.text(
                "INSERT INTO workloads (id, name, description, \"case\", volume_per_day, "
                "fixed_costs_monthly_usd, task_stable, domain_stable, thresholds, scorer, "
                "config_hash, created_at, updated_at) VALUES (1, 'w', '', 'cost_distillation', "
                "1, 0, true, true, '{}', '{}', '', '2026-01-01', '2026-01-01')"
            ))  # fmt: skip
            conn.execute(sa.text("INSERT INTO eval_sets (id, name, created_at) "
                                 "VALUES (1, 's', '2026-01-01')"))  # fmt: skip
            conn.execute(sa.text(
                "INSERT INTO eval_set_versions (id, eval_set_id, version, content_hash, "
                "item_count, source_path, created_at) VALUES (1, 1, 1, 'h', 0, '', '2026-01-01')"
            ))  # fmt: skip
            conn.execute(sa.text(
                "INSERT INTO candidates (id, workload_id, name, role, runner, route, prompt, "
                "params, pricing, serving, limits, created_at, updated_at) VALUES (1, 1, 'ft', "
                "'fine_tune', 'api', 'openai/x', '{}', '{}', '{}', '{}', '{}', '2026-01-01', "
                "'2026-01-01')"
            ))  # fmt: skip
            conn.execute(sa.text(
                "INSERT INTO runs (id, candidate_id, eval_set_version_id, quarter, status, "
                "started_at, stats) VALUES (1, 1, 1, '2026Q1', 'complete', '2026-01-01', '{}')"
            ))  # fmt: skip
            conn.execute(sa.text(
                "INSERT INTO decisions (id, workload_id, quarter, verdict, metrics, gates, trend, "
                "reproducibility, memo, fine_tune_run_id, created_at, updated_at) VALUES (1, 1, "
                "'2026Q1', 'keep', '{}', '[]', '{}', '{}', '', 1, '2026-01-01', '2026-01-01')"
            ))  # fmt: skip
        _migrate(database_url, "0003")
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT attempt, retry_passes FROM runs")).one() == (1, 0)
            assert conn.execute(sa.text("SELECT attempt, revision FROM decisions")).one() == (1, 1)
        _migrate(database_url, "0002", down=True)  # only first attempts: it goes back down
        _migrate(database_url, "0003")
        with engine.begin() as conn:  # a second attempt (run --fresh) exists
            conn.execute(sa.text(
                "INSERT INTO runs (id, candidate_id, eval_set_version_id, quarter, status, "
                "started_at, stats, attempt) VALUES (2, 1, 1, '2026Q1', 'complete', "
                "'2026-01-02', '{}', 2)"
            ))  # fmt: skip
        with pytest.raises(RuntimeError, match="1 run\\(s\\) belong to a second or later"):
            _migrate(database_url, "0002", down=True)
        with engine.connect() as conn:  # refused before anything changed
            assert conn.execute(sa.text("SELECT count(*) FROM runs")).scalar() == 2
            assert "attempt" in {c["name"] for c in sa.inspect(conn).get_columns("runs")}
    finally:
        engine.dispose()
