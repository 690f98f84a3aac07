"""registry.notices on SQLite and PostgreSQL: idempotent enqueue, exclusive claims, fencing."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from registry.models import Notice
from registry.notices import (
    cache_user_id,
    cached_user_id,
    claim_pending,
    enqueue_notice,
    first_thread_ts,
    get_notice,
    keep_pending,
    list_notices,
    mark_failed,
    mark_sent,
    record_channel,
    release_claim,
    requeue_failed,
)

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def count(factory: sessionmaker[Session]) -> int:
    with factory.begin() as session:
        return int(session.scalar(select(func.count()).select_from(Notice)) or 0)


def test_enqueue_is_idempotent_per_workload_quarter_kind(
    session_factory: sessionmaker[Session], add_workload: Any
) -> None:
    wid = add_workload()
    args = {"decision_id": None, "workload_id": wid, "quarter": "2026Q4", "destination": None}
    with session_factory.begin() as session:
        first = enqueue_notice(session, kind="retire", payload={"text": "first"}, **args)
    with session_factory.begin() as session:
        again = enqueue_notice(session, kind="retire", payload={"text": "second"}, **args)
        watch = enqueue_notice(session, kind="watch", payload={"text": "w"}, **args)
    assert again.id == first.id and again.payload == {"text": "first"}
    assert watch.id != first.id
    assert count(session_factory) == 2


def test_one_digest_per_quarter(session_factory: sessionmaker[Session]) -> None:
    for _ in range(3):
        with session_factory.begin() as session:
            enqueue_notice(
                session,
                decision_id=None,
                workload_id=None,
                quarter="2026Q4",
                kind="digest",
                destination="C0PLATFORM",
                payload={"text": "digest"},
            )
    assert count(session_factory) == 1


def test_claim_is_exclusive_and_fences_later_changes(
    session_factory: sessionmaker[Session], add_workload: Any, enqueue: Any
) -> None:
    nid = enqueue(add_workload())
    with session_factory.begin() as s:
        claim = claim_pending(s, nid, seen_claim=None, now=T0)
    with session_factory.begin() as s:
        assert claim_pending(s, nid, seen_claim=None, now=T0 + timedelta(seconds=1)) is None
        assert get_notice(s, nid).state == "sending"  # type: ignore[union-attr]
    assert claim == T0
    # a stale claim is taken over once, by whoever saw it first
    t1 = T0 + timedelta(minutes=30)
    with session_factory.begin() as s:
        assert claim_pending(s, nid, seen_claim=T0, now=t1) == t1
    with session_factory.begin() as s:
        assert claim_pending(s, nid, seen_claim=T0, now=t1 + timedelta(seconds=1)) is None
        # the first claimer's changes no longer apply
        assert not record_channel(s, nid, claim=T0, channel_id="C0X")
        assert not mark_sent(s, nid, claim=T0, channel_id="C", ts="1", thread_ts=None, now=t1)
        assert not mark_failed(s, nid, claim=T0, reason="x")
        assert record_channel(s, nid, claim=t1, channel_id="C0TRIAGE")
        assert mark_sent(s, nid, claim=t1, channel_id="C0TRIAGE", ts="9.1", thread_ts=None, now=t1)
    with session_factory.begin() as s:
        notice = get_notice(s, nid)
    assert notice is not None
    assert (notice.state, notice.ts, notice.attempts, notice.sent_at) == ("sent", "9.1", 2, t1)


def test_keep_pending_counts_attempts_and_remembers_an_uncertain_channel(
    session_factory: sessionmaker[Session], add_workload: Any, enqueue: Any
) -> None:
    nid = enqueue(add_workload())
    with session_factory.begin() as s:
        claim = claim_pending(s, nid, seen_claim=None, now=T0)
        assert claim is not None
        record_channel(s, nid, claim=claim, channel_id="D0ANA")
        keep_pending(s, nid, claim=claim, error="http_500", maybe_delivered=True)
    with session_factory.begin() as s:
        notice = get_notice(s, nid)
        assert notice is not None
        assert (notice.state, notice.attempts, notice.channel_id) == ("pending", 1, "D0ANA")
        assert notice.needs_check and notice.last_error == "http_500"
        claim = claim_pending(s, nid, seen_claim=None, now=T0 + timedelta(seconds=5))
        assert claim is not None
        keep_pending(s, nid, claim=claim, error="refused", maybe_delivered=False)
    with session_factory.begin() as s:
        notice = get_notice(s, nid)
    assert notice is not None and not notice.needs_check and notice.attempts == 2


def test_list_by_state(
    session_factory: sessionmaker[Session], add_workload: Any, enqueue: Any
) -> None:
    wid = add_workload()
    a, b, c = (enqueue(wid, q) for q in ("2026Q2", "2026Q3", "2026Q4"))
    with session_factory.begin() as s:
        claim = claim_pending(s, b, seen_claim=None, now=T0)
        assert claim is not None
        mark_failed(s, b, claim=claim, reason="channel_not_found")
        claim_pending(s, c, seen_claim=None, now=T0)
    with session_factory.begin() as s:
        assert [n.id for n in list_notices(s)] == [a, b, c]
        assert [n.id for n in list_notices(s, "pending")] == [a]
        assert [n.id for n in list_notices(s, "sending")] == [c]
        assert [n.id for n in list_notices(s, "unsent")] == [a, c]
        [failed] = list_notices(s, "failed")
    assert failed.id == b and failed.last_error == "channel_not_found"
    assert failed.workload == "ticket-triage" and failed.owner_email == "ana@example.com"


def test_first_thread_ts_is_the_first_sent_notice_in_that_channel(
    session_factory: sessionmaker[Session], add_workload: Any, enqueue: Any
) -> None:
    wid = add_workload()
    other = add_workload("other")
    ids = [enqueue(wid, q) for q in ("2026Q1", "2026Q2", "2026Q3")]
    sends = [("D0ANA", "1.1", None), ("D0ANA", "1.2", "1.1"), ("C0TRIAGE", "1.3", None)]
    with session_factory.begin() as s:
        assert first_thread_ts(s, wid) is None
        for i, (nid, (channel, ts, thread)) in enumerate(zip(ids, sends, strict=True)):
            now = T0 + timedelta(minutes=i)
            claim = claim_pending(s, nid, seen_claim=None, now=now)
            assert claim is not None
            mark_sent(s, nid, claim=claim, channel_id=channel, ts=ts, thread_ts=thread, now=now)
    with session_factory.begin() as s:
        assert first_thread_ts(s, wid, channel_id="D0ANA") == "1.1"
        assert first_thread_ts(s, wid, channel_id="C0TRIAGE") == "1.3"
        assert first_thread_ts(s, other, channel_id="D0ANA") is None
        # never a newer quarter's thread
        assert first_thread_ts(s, wid, channel_id="C0TRIAGE", quarter="2026Q3") == "1.3"
        assert first_thread_ts(s, wid, channel_id="C0TRIAGE", quarter="2026Q2") is None
        assert first_thread_ts(s, wid, channel_id="D0ANA", quarter="2025Q4") is None


def test_an_older_quarter_sent_late_does_not_become_the_thread_of_newer_ones(
    session_factory: sessionmaker[Session], add_workload: Any, enqueue: Any
) -> None:
    """2026Q4 went out first (top-level); 2026Q2, retried, went out later (top-level too)."""
    wid = add_workload()
    q4, q2 = enqueue(wid, "2026Q4"), enqueue(wid, "2026Q2")
    with session_factory.begin() as s:
        for i, (nid, ts) in enumerate(((q4, "4.0"), (q2, "2.0"))):
            now = T0 + timedelta(minutes=i)
            claim = claim_pending(s, nid, seen_claim=None, now=now)
            assert claim is not None
            mark_sent(s, nid, claim=claim, channel_id="D0ANA", ts=ts, thread_ts=None, now=now)
    with session_factory.begin() as s:
        assert first_thread_ts(s, wid, channel_id="D0ANA", quarter="2026Q3") == "2.0"
        assert first_thread_ts(s, wid, channel_id="D0ANA", quarter="2027Q1") == "4.0"


def test_release_gives_the_claim_back_without_counting_the_attempt(
    session_factory: sessionmaker[Session], add_workload: Any, enqueue: Any
) -> None:
    nid = enqueue(add_workload())
    with session_factory.begin() as s:
        claim = claim_pending(s, nid, seen_claim=None, now=T0)
        assert claim is not None
        record_channel(s, nid, claim=claim, channel_id="D0ANA")
        assert not release_claim(s, nid, claim=T0 - timedelta(1), error="x", keep_channel=True)
        assert release_claim(s, nid, claim=claim, error="token refused", keep_channel=True)
    with session_factory.begin() as s:
        kept = get_notice(s, nid)
        claim = claim_pending(s, nid, seen_claim=None, now=T0 + timedelta(seconds=1))
        assert claim is not None
        assert release_claim(s, nid, claim=claim, error="token refused", keep_channel=False)
    with session_factory.begin() as s:
        cleared = get_notice(s, nid)
    assert kept is not None and cleared is not None
    assert (kept.state, kept.attempts, kept.channel_id, kept.claimed_at) == (
        "pending",
        0,
        "D0ANA",
        None,
    )
    assert kept.last_error == "token refused"
    assert (cleared.state, cleared.attempts, cleared.channel_id) == ("pending", 0, None)


def _fail(factory: sessionmaker[Session], nid: int, channel: str = "C0GONE") -> None:
    with factory.begin() as s:
        claim = claim_pending(s, nid, seen_claim=None, now=T0)
        assert claim is not None
        record_channel(s, nid, claim=claim, channel_id=channel)
        mark_failed(s, nid, claim=claim, reason="channel_not_found")


def test_requeue_failed_by_id_or_all(
    session_factory: sessionmaker[Session], add_workload: Any, enqueue: Any
) -> None:
    wid = add_workload()
    a, b, c, d = (enqueue(wid, q) for q in ("2026Q1", "2026Q2", "2026Q3", "2026Q4"))
    for nid in (a, b, c):
        _fail(session_factory, nid)
    with session_factory.begin() as s:
        named = requeue_failed(s, [a, d, a])
    with session_factory.begin() as s:
        unknown = requeue_failed(s, [b, 9999])
    with session_factory.begin() as s:
        assert get_notice(s, b).state == "failed"  # type: ignore[union-attr]
        rest = requeue_failed(s)
    with session_factory.begin() as s:
        nothing = requeue_failed(s)
        states = {n.id: (n.state, n.channel_id, n.last_error) for n in list_notices(s)}
    assert (named.requeued, named.not_failed, named.unknown) == ((a,), {d: "pending"}, ())
    assert (unknown.requeued, unknown.unknown) == ((), (9999,))
    assert (rest.requeued, nothing.requeued) == ((b, c), ())
    assert states[a] == states[b] == ("pending", None, "channel_not_found")
    assert states[d] == ("pending", None, None)


def test_enqueue_racing_another_transaction_returns_the_winners_notice(
    session_factory: sessionmaker[Session], add_workload: Any
) -> None:
    """Two processes decide the same quarter: the second insert waits on the first's
    uncommitted row, then neither raises and both return the one notice."""
    wid = add_workload()
    inserted, results, errors = threading.Event(), {}, []

    def enqueue_as(name: str, *, hold: bool) -> None:
        try:
            with session_factory.begin() as session:
                if not hold:
                    inserted.wait(10)
                notice = enqueue_notice(
                    session,
                    decision_id=None,
                    workload_id=wid,
                    quarter="2026Q4",
                    kind="retire",
                    destination=None,
                    payload={"text": name},
                )
                results[name] = notice.id
                if hold:  # keep the row uncommitted while the other inserts
                    inserted.set()
                    threading.Event().wait(0.5)
        except BaseException as exc:  # pragma: no cover - surfaced below
            inserted.set()
            errors.append(exc)

    threads = [
        threading.Thread(target=enqueue_as, args=("first",), kwargs={"hold": True}),
        threading.Thread(target=enqueue_as, args=("second",), kwargs={"hold": False}),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert results["first"] == results["second"]
    assert count(session_factory) == 1
    with session_factory.begin() as s:
        assert get_notice(s, results["first"]).payload == {"text": "first"}  # type: ignore[union-attr]


def test_user_id_cache(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as s:
        assert cached_user_id(s, "ana@example.com") is None
        cache_user_id(s, "Ana@Example.com ", "U0ANA", now=T0)
    with session_factory.begin() as s:
        assert cached_user_id(s, "ANA@example.com") == "U0ANA"
        cache_user_id(s, "ana@example.com", "U0ANA2", now=T0)
    with session_factory.begin() as s:
        assert cached_user_id(s, "ana@example.com") == "U0ANA2"
