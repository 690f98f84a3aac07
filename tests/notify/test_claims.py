"""The claim state on SQLite and PostgreSQL: ``sending`` with ``claimed_at``, double claims,
stale takeovers (once, and never of a fresh claim), and the database checks behind them."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from registry.models import Notice, NoticeStatus
from registry.notices import (
    CLAIM_LEASE,
    claim_pending,
    deliverable,
    get_notice,
    keep_pending,
    mark_failed,
    mark_sent,
)
from registry.outbox import NoticeOutbox

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=10)


def _row(factory: sessionmaker[Session], nid: int) -> tuple[Any, ...]:
    with factory.begin() as s:
        n = s.scalars(select(Notice).where(Notice.id == nid)).one()
        return (str(n.status), n.claimed_at, n.sent_at, n.attempts)


def test_a_claim_is_a_sending_row_with_its_claim_time_and_no_sent_at(
    session_factory: sessionmaker[Session], add_workload: Any, enqueue: Any
) -> None:
    nid = enqueue(add_workload())
    with session_factory.begin() as s:
        assert claim_pending(s, nid, seen_claim=None, now=T0) == T0
    assert _row(session_factory, nid) == ("sending", T0, None, 1)
    with session_factory.begin() as s:
        view = get_notice(s, nid)
    assert view is not None
    assert (view.state, view.claimed_at, view.sent_at) == ("sending", T0, None)


def test_a_double_claim_loses(
    session_factory: sessionmaker[Session], add_workload: Any, enqueue: Any
) -> None:
    nid = enqueue(add_workload())
    with session_factory.begin() as s:
        assert claim_pending(s, nid, seen_claim=None, now=T0) == T0
    with session_factory.begin() as s:
        # a second deliverer that listed it as pending, and one that saw no claim at all
        assert claim_pending(s, nid, seen_claim=None, now=T0 + timedelta(seconds=1)) is None
    assert _row(session_factory, nid) == ("sending", T0, None, 1)


def test_racing_claimers_have_exactly_one_winner(
    session_factory: sessionmaker[Session], add_workload: Any, enqueue: Any
) -> None:
    nid = enqueue(add_workload())
    outbox = NoticeOutbox(session_factory)
    start = threading.Barrier(6)
    won: list[datetime] = []

    def claimer(i: int) -> None:
        start.wait()
        claimed = outbox.claim(nid, seen_claim=None, now=T0 + timedelta(microseconds=i))
        if claimed is not None and claimed.claimed_at is not None:
            won.append(claimed.claimed_at)

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1
    assert _row(session_factory, nid) == ("sending", won[0], None, 1)


def test_a_fresh_claim_is_never_taken_over(
    session_factory: sessionmaker[Session], add_workload: Any, enqueue: Any
) -> None:
    nid = enqueue(add_workload())
    with session_factory.begin() as s:
        claim_pending(s, nid, seen_claim=None, now=T0)
    almost = T0 + LEASE - timedelta(seconds=1)
    with session_factory.begin() as s:
        assert claim_pending(s, nid, seen_claim=T0, now=almost, stale_after=LEASE) is None
        assert [n.id for n in deliverable(s, now=almost, stale_after=LEASE)] == []
    assert _row(session_factory, nid) == ("sending", T0, None, 1)


def test_a_stale_claim_is_taken_over_exactly_once(
    session_factory: sessionmaker[Session], add_workload: Any, enqueue: Any
) -> None:
    nid = enqueue(add_workload())
    with session_factory.begin() as s:
        claim_pending(s, nid, seen_claim=None, now=T0)
    later = T0 + LEASE
    with session_factory.begin() as s:
        [listed] = deliverable(s, now=later, stale_after=LEASE)
    assert (listed.id, listed.state, listed.claimed_at) == (nid, "sending", T0)
    # two deliverers saw the same stale claim: the first takes it over, the second loses
    with session_factory.begin() as s:
        assert claim_pending(s, nid, seen_claim=T0, now=later, stale_after=LEASE) == later
    with session_factory.begin() as s:
        second = later + timedelta(seconds=1)
        assert claim_pending(s, nid, seen_claim=T0, now=second, stale_after=LEASE) is None
        # nor can anyone claim it as if it were pending
        assert claim_pending(s, nid, seen_claim=None, now=second) is None
        # the dead deliverer's outcome no longer applies; the new owner's does
        assert not mark_failed(s, nid, claim=T0, reason="late")
        assert not keep_pending(s, nid, claim=T0, error="late", maybe_delivered=False)
        sent = later + timedelta(seconds=3)
        assert mark_sent(
            s, nid, claim=later, channel_id="D0ANA", ts="1.5", thread_ts=None, now=sent
        )
    assert _row(session_factory, nid) == ("sent", None, sent, 2)


def test_release_and_failure_clear_the_claim(
    session_factory: sessionmaker[Session], add_workload: Any, enqueue: Any
) -> None:
    wid = add_workload()
    released, failed = enqueue(wid, "2026Q3"), enqueue(wid, "2026Q4")
    with session_factory.begin() as s:
        for nid in (released, failed):
            claim_pending(s, nid, seen_claim=None, now=T0)
        assert keep_pending(s, released, claim=T0, error="http_500", maybe_delivered=True)
        assert mark_failed(s, failed, claim=T0, reason="channel_not_found")
    assert _row(session_factory, released) == ("pending", None, None, 1)
    assert _row(session_factory, failed) == ("failed", None, None, 1)
    with session_factory.begin() as s:
        assert [n.id for n in deliverable(s, now=T0 + CLAIM_LEASE * 2)] == [released]


@pytest.mark.parametrize(
    "values",
    [
        {"status": NoticeStatus.SENDING},  # a claim without a claim time
        {"claimed_at": T0},  # a claim time on a pending notice
    ],
    ids=["sending-without-claimed_at", "pending-with-claimed_at"],
)
def test_the_database_refuses_a_claim_time_that_does_not_match_the_status(
    session_factory: sessionmaker[Session], add_workload: Any, enqueue: Any, values: Any
) -> None:
    nid = enqueue(add_workload())
    with pytest.raises(IntegrityError), session_factory.begin() as s:
        s.execute(update(Notice).where(Notice.id == nid).values(**values))
    assert _row(session_factory, nid) == ("pending", None, None, 0)
