"""``frontier_batches`` on SQLite and PostgreSQL: a batch is on record before the provider is
asked, takes the provider's ids as they come, and leaves the open list once collected."""

from __future__ import annotations

from typing import Any

import pytest

from registry.batch_models import BatchStatus
from registry.batches import open_batches, record_batch, reserve_batch, run_batches
from registry.errors import NotFoundError
from registry.runs import open_run
from tests.registry.factories import seed_workload


def test_a_batch_from_reservation_to_collection(session_factory: Any) -> None:
    with session_factory.begin() as session:
        seeded = seed_workload(session, items=4)
        run = open_run(session, candidate_id=seeded.buy_id,
                       eval_set_version_id=seeded.version_id, quarter="2026Q1")  # fmt: skip
        first = reserve_batch(session, run_id=run.id, provider="openai",
                              item_keys=seeded.item_keys[:2])  # fmt: skip
        second = reserve_batch(session, run_id=run.id, provider="openai",
                               item_keys=seeded.item_keys[2:])  # fmt: skip
    assert first.client_key != second.client_key and len(first.client_key) == 32
    assert (first.status, first.batch_id, first.item_keys) == (
        BatchStatus.PREPARING,
        None,
        seeded.item_keys[:2],
    )

    with session_factory.begin() as session:
        record_batch(session, first.client_key, input_file_id="file-1")
        submitted = record_batch(session, first.client_key, batch_id="batch_1",
                                 provider_status="in_progress")  # fmt: skip
        kept = record_batch(session, first.client_key, provider_status="completed")
    assert submitted.status == BatchStatus.SUBMITTED and submitted.input_file_id == "file-1"
    assert (kept.batch_id, kept.provider_status) == ("batch_1", "completed")

    with session_factory.begin() as session:
        assert [b.client_key for b in open_batches(session, run.id)] == [
            first.client_key, second.client_key
        ]  # fmt: skip
        record_batch(session, first.client_key, collected=True)
        assert [b.client_key for b in open_batches(session, run.id)] == [second.client_key]
        statuses = [b.status for b in run_batches(session, run.id)]
        assert statuses == [BatchStatus.COLLECTED, BatchStatus.PREPARING]
        with pytest.raises(NotFoundError, match="no frontier batch"):
            record_batch(session, "nope", batch_id="x")
