"""Models: unique keys, enum storage, timezone-aware datetimes, JSON round trips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from registry.models import (
    Candidate,
    CandidateRole,
    Case,
    Decision,
    EvalSet,
    Notice,
    NoticeKind,
    Run,
    Runner,
    Verdict,
    Workload,
    notice_dedupe_key,
)
from tests.registry.factories import seed_workload

SessionFactory = Any


def _expect_integrity_error(factory: SessionFactory, *rows: object) -> None:
    with pytest.raises(IntegrityError), factory.begin() as session:
        session.add_all(rows)
        session.flush()


def test_workload_name_is_unique(session_factory: SessionFactory) -> None:
    with session_factory.begin() as session:
        seed_workload(session, name="w")
    _expect_integrity_error(
        session_factory, Workload(name="w", case=Case.DOMAIN_EXPERTISE, volume_per_day=1)
    )


def test_candidate_unique_per_workload(session_factory: SessionFactory) -> None:
    with session_factory.begin() as session:
        seeded = seed_workload(session)
    duplicate = Candidate(
        workload_id=seeded.workload_id,
        name="ft",
        role=CandidateRole.BUY,
        runner=Runner.API,
        route="x/y",
    )
    _expect_integrity_error(session_factory, duplicate)


def test_run_unique_per_candidate_version_quarter(session_factory: SessionFactory) -> None:
    with session_factory.begin() as session:
        seeded = seed_workload(session)
        session.add(
            Run(
                candidate_id=seeded.fine_tune_id,
                eval_set_version_id=seeded.version_id,
                quarter="2026Q1",
            )
        )
    _expect_integrity_error(
        session_factory,
        Run(
            candidate_id=seeded.fine_tune_id,
            eval_set_version_id=seeded.version_id,
            quarter="2026Q1",
        ),
    )


def test_decision_unique_per_workload_quarter(session_factory: SessionFactory) -> None:
    with session_factory.begin() as session:
        seeded = seed_workload(session)
        session.add(
            Decision(workload_id=seeded.workload_id, quarter="2026Q1", verdict=Verdict.KEEP)
        )
    _expect_integrity_error(
        session_factory,
        Decision(workload_id=seeded.workload_id, quarter="2026Q1", verdict=Verdict.RETIRE),
    )


def test_notice_dedupe_key_covers_digests(session_factory: SessionFactory) -> None:
    with session_factory.begin() as session:
        seeded = seed_workload(session)
        session.add(Notice(quarter="2026Q1", kind=NoticeKind.DIGEST, payload={"text": "d"}))
        session.add(
            Notice(workload_id=seeded.workload_id, quarter="2026Q1", kind="retire", payload={})
        )
    with session_factory() as session:
        keys = set(session.scalars(select(Notice.dedupe_key)))
    assert keys == {
        notice_dedupe_key(None, "2026Q1", "digest"),
        notice_dedupe_key(seeded.workload_id, "2026Q1", "retire"),
    }
    assert notice_dedupe_key(None, "2026Q1", "digest") == "*:2026Q1:digest"
    _expect_integrity_error(
        session_factory, Notice(quarter="2026Q1", kind=NoticeKind.DIGEST, payload={})
    )


def test_enums_are_stored_as_values(session_factory: SessionFactory) -> None:
    with session_factory.begin() as session:
        seed_workload(session)
    with session_factory() as session:
        stored = session.execute(text('SELECT "case" FROM workloads')).scalar_one()
        role = session.execute(text("SELECT role FROM candidates ORDER BY id")).scalars().first()
        workload = session.scalars(select(Workload)).one()
    assert stored == "cost_distillation"
    assert role == "fine_tune"
    assert workload.case is Case.COST_DISTILLATION
    assert workload.case == "cost_distillation"


def test_datetimes_come_back_aware_utc(session_factory: SessionFactory) -> None:
    plus_two = timezone(timedelta(hours=2))
    moment = datetime(2026, 3, 31, 23, 30, tzinfo=plus_two)
    with session_factory.begin() as session:
        session.add(EvalSet(name="x", created_at=moment))
    with session_factory() as session:
        got = session.scalars(select(EvalSet.created_at)).one()
    assert got.tzinfo is not None
    assert got == moment
    assert got.utcoffset() == timedelta(0)
    assert got == datetime(2026, 3, 31, 21, 30, tzinfo=UTC)


def test_naive_datetimes_are_refused(session_factory: SessionFactory) -> None:
    with pytest.raises(Exception, match="naive datetime"), session_factory.begin() as session:
        session.add(EvalSet(name="x", created_at=datetime(2026, 1, 1)))
        session.flush()


def test_json_round_trip(session_factory: SessionFactory) -> None:
    payload = {"text": "héllo", "blocks": [{"type": "section", "n": 1.5, "ok": True, "z": None}]}
    with session_factory.begin() as session:
        session.add(Notice(quarter="2026Q2", kind="digest", payload=payload))
    with session_factory() as session:
        assert session.scalars(select(Notice.payload)).one() == payload
