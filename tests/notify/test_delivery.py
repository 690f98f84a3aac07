"""Delivery end to end: registry outbox (SQLite and PostgreSQL) + loopback Slack.

Exactly once under re-runs, concurrent deliverers, rate limits, outages, lost responses and
a crash between Slack accepting a notice and the registry recording it.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from registry.notices import get_notice, list_notices, requeue_failed
from tasks.notify.delivery import deliver, deliver_one, notice_ref
from tasks.notify.errors import SlackCredentialError
from tasks.notify.outcomes import NOT_TRIED
from tests.notify.slack_server import Fail, SlackServer
from tests.notify.test_slack import dead_url


def notice(factory: sessionmaker[Session], nid: int) -> Any:
    with factory.begin() as s:
        return get_notice(s, nid)


def posts(slack: SlackServer) -> list[Any]:
    return list(slack.state.messages)


def test_sends_once_and_a_second_delivery_sends_nothing(
    slack: SlackServer,
    client: Any,
    outbox: Any,
    session_factory: Any,
    add_workload: Any,
    enqueue: Any,
) -> None:
    nid = enqueue(add_workload())
    first = deliver(outbox, client)
    second = deliver(outbox, client)
    assert [o.result for o in first.outcomes] == ["sent"]
    assert second.outcomes == ()
    [message] = posts(slack)
    assert message.channel == "D0ANA"  # resolved from the owner's email, as a DM
    sent = notice(session_factory, nid)
    assert (sent.state, sent.channel_id, sent.ts, sent.attempts) == ("sent", "D0ANA", message.ts, 1)
    assert message.metadata["event_payload"]["notice_id"] == notice_ref(sent)
    assert message.text.startswith("Retire: ticket-triage")
    assert message.blocks[0]["type"] == "header"


def test_re_enqueue_of_a_sent_notice_does_not_send_again(
    slack: SlackServer, client: Any, outbox: Any, add_workload: Any, enqueue: Any
) -> None:
    wid = add_workload()
    enqueue(wid)
    deliver(outbox, client)
    enqueue(wid)  # the quarter's flow re-ran
    assert deliver(outbox, client).outcomes == ()
    assert len(posts(slack)) == 1


def test_concurrent_deliverers_send_each_notice_once(
    slack: SlackServer,
    client_for: Any,
    outbox: Any,
    session_factory: Any,
    add_workload: Any,
    enqueue: Any,
) -> None:
    ids = [
        enqueue(add_workload(f"w{i}", owner_email=None, slack_channel="C0TRIAGE")) for i in range(8)
    ]
    barrier = threading.Barrier(4)
    reports: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            client = client_for(slack.base_url)
            barrier.wait()
            reports.append(deliver(outbox, client))
        except BaseException as exc:  # pragma: no cover - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    sent = [o.notice_id for r in reports for o in r.outcomes if o.result == "sent"]
    assert sorted(sent) == sorted(ids)
    assert len(posts(slack)) == 8
    assert len({m.metadata["event_payload"]["notice_id"] for m in posts(slack)}) == 8
    with session_factory.begin() as s:
        assert {n.state for n in list_notices(s)} == {"sent"}


def test_rate_limited_then_success_posts_once(
    slack: SlackServer,
    client: Any,
    outbox: Any,
    session_factory: Any,
    add_workload: Any,
    enqueue: Any,
) -> None:
    nid = enqueue(add_workload())
    slack.script("chat.postMessage", Fail(status=429, retry_after=0))
    report = deliver(outbox, client)
    assert [o.result for o in report.outcomes] == ["sent"]
    assert len(slack.calls_to("chat.postMessage")) == 2
    assert len(posts(slack)) == 1
    assert notice(session_factory, nid).state == "sent"


def test_an_outage_leaves_notices_pending_and_the_next_delivery_sends_each_once(
    slack: SlackServer,
    client: Any,
    outbox: Any,
    session_factory: Any,
    add_workload: Any,
    enqueue: Any,
) -> None:
    ids = [enqueue(add_workload(f"w{i}")) for i in range(3)]
    slack.outage = True
    report = deliver(outbox, client)
    assert [o.result for o in report.outcomes] == ["pending"] * 3
    assert posts(slack) == []
    for nid in ids:
        n = notice(session_factory, nid)
        assert (n.state, n.attempts) == ("pending", 1) and "internal_error" in n.last_error
    slack.outage = False
    report = deliver(outbox, client)
    assert [o.result for o in report.outcomes] == ["sent"] * 3
    assert len(posts(slack)) == 3
    assert deliver(outbox, client).outcomes == ()


def test_connection_refused_then_recovery(
    slack: SlackServer,
    client_for: Any,
    outbox: Any,
    session_factory: Any,
    add_workload: Any,
    enqueue: Any,
) -> None:
    nid = enqueue(add_workload(owner_email=None, slack_channel="C0TRIAGE"))
    report = deliver(outbox, client_for(dead_url()))
    assert [o.result for o in report.outcomes] == ["pending"]
    down = notice(session_factory, nid)
    assert "connection_refused" in down.last_error and not down.needs_check
    deliver(outbox, client_for(slack.base_url))
    assert notice(session_factory, nid).state == "sent"
    assert len(posts(slack)) == 1
    assert slack.calls_to("conversations.history") == []  # nothing to check: never sent


def test_lost_response_is_reconciled_from_history_not_resent(
    slack: SlackServer,
    client: Any,
    outbox: Any,
    session_factory: Any,
    add_workload: Any,
    enqueue: Any,
) -> None:
    """Slack posts the message but answers 500: the next delivery finds it by metadata."""
    nid = enqueue(add_workload())
    slack.script("chat.postMessage", Fail(status=500, accept=True))
    assert [o.result for o in deliver(outbox, client).outcomes] == ["pending"]
    assert notice(session_factory, nid).needs_check
    [outcome] = deliver(outbox, client).outcomes
    assert outcome.result == "sent" and "already in Slack" in outcome.detail
    [message] = posts(slack)
    n = notice(session_factory, nid)
    assert (n.state, n.ts, n.channel_id) == ("sent", message.ts, "D0ANA")
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_dropped_connection_before_posting_is_checked_then_sent_once(
    slack: SlackServer,
    client: Any,
    outbox: Any,
    session_factory: Any,
    add_workload: Any,
    enqueue: Any,
) -> None:
    nid = enqueue(add_workload())
    slack.script("chat.postMessage", Fail(drop=True))  # dropped before Slack did anything
    assert [o.result for o in deliver(outbox, client).outcomes] == ["pending"]
    assert [o.result for o in deliver(outbox, client).outcomes] == ["sent"]
    assert len(slack.calls_to("conversations.history")) == 1
    assert len(posts(slack)) == 1 and notice(session_factory, nid).state == "sent"


def test_crash_after_slack_accepted_is_reconciled_after_the_lease(
    slack: SlackServer,
    client: Any,
    outbox: Any,
    session_factory: Any,
    add_workload: Any,
    enqueue: Any,
) -> None:
    """A deliverer claims, records the channel, posts, and dies before recording it."""
    nid = enqueue(add_workload())
    n = notice(session_factory, nid)
    t0 = datetime.now(UTC)
    claim = outbox.claim(nid, seen_claim=None, now=t0).claimed_at
    outbox.record_channel(nid, claim=claim, channel_id=client.open_dm("U0ANA"))
    client.post_message("D0ANA", text="x", notice_ref=notice_ref(n))
    # ... crash. While the claim is fresh, other deliverers leave it alone:
    assert deliver(outbox, client).outcomes == ()
    # once it is stale, the next delivery finds the message instead of posting again
    later = t0 + timedelta(minutes=11)
    [outcome] = deliver(outbox, client, now=lambda: later).outcomes
    assert outcome.result == "sent" and "already in Slack" in outcome.detail
    assert len(posts(slack)) == 1
    done = notice(session_factory, nid)
    assert (done.state, done.ts, done.attempts) == ("sent", posts(slack)[0].ts, 2)


def test_crash_before_posting_is_sent_once_after_the_lease(
    slack: SlackServer,
    client: Any,
    outbox: Any,
    session_factory: Any,
    add_workload: Any,
    enqueue: Any,
) -> None:
    nid = enqueue(add_workload())
    t0 = datetime.now(UTC)
    claim = outbox.claim(nid, seen_claim=None, now=t0).claimed_at
    outbox.record_channel(nid, claim=claim, channel_id=client.open_dm("U0ANA"))
    later = t0 + timedelta(minutes=11)
    assert [o.result for o in deliver(outbox, client, now=lambda: later).outcomes] == ["sent"]
    assert len(posts(slack)) == 1 and notice(session_factory, nid).state == "sent"


def test_unverifiable_channel_fails_rather_than_risk_a_duplicate(
    slack: SlackServer,
    client: Any,
    outbox: Any,
    session_factory: Any,
    add_workload: Any,
    enqueue: Any,
) -> None:
    nid = enqueue(add_workload())
    slack.script("chat.postMessage", Fail(status=500, accept=True))
    deliver(outbox, client)
    slack.script("conversations.history", Fail(error="missing_scope"))
    [outcome] = deliver(outbox, client).outcomes
    assert outcome.result == "failed"
    n = notice(session_factory, nid)
    assert (
        n.state == "failed" and "missing_scope" in n.last_error and "look in D0ANA" in n.last_error
    )
    assert len(posts(slack)) == 1


def test_permanent_failures_are_recorded_with_their_reason(
    slack: SlackServer,
    client: Any,
    outbox: Any,
    session_factory: Any,
    add_workload: Any,
    enqueue: Any,
) -> None:
    bad_channel = enqueue(add_workload("a", owner_email=None, slack_channel="C0NOPE"))
    nobody = enqueue(add_workload("b", owner_email="nobody@example.com", slack_channel=None))
    no_dest = enqueue(add_workload("c", owner_email=None, slack_channel=None))
    slack.add_channel("C0OUT", member=False)
    outside = enqueue(add_workload("d", owner_email=None, slack_channel="C0OUT"))
    report = deliver(outbox, client)
    assert report.count("failed") == 4 and posts(slack) == []
    reasons = {
        nid: notice(session_factory, nid).last_error
        for nid in (bad_channel, nobody, no_dest, outside)
    }
    assert "channel_not_found" in reasons[bad_channel]
    assert "users_not_found" in reasons[nobody]
    assert "has no destination" in reasons[no_dest]
    assert "not_in_channel" in reasons[outside]
    assert deliver(outbox, client).outcomes == ()  # failed notices are not retried


def test_a_refused_token_stops_the_pass_and_leaves_every_notice_pending(
    slack: SlackServer,
    client_for: Any,
    outbox: Any,
    session_factory: Any,
    add_workload: Any,
    enqueue: Any,
) -> None:
    ids = [enqueue(add_workload(f"w{i}", owner_email=None)) for i in range(3)]
    report = deliver(outbox, client_for(slack.base_url, token="xoxb-revoked"))
    assert report.stopped is not None and "invalid_auth" in report.stopped
    assert "RELITIGATE_SLACK_TOKEN" in report.stopped
    assert [(o.notice_id, o.result) for o in report.outcomes] == [(i, "pending") for i in ids]
    assert [o.detail for o in report.outcomes[1:]] == [NOT_TRIED, NOT_TRIED]
    assert len(slack.calls) == 1  # stopped at once: nothing else was tried
    rows = [notice(session_factory, nid) for nid in ids]
    assert [(n.state, n.attempts, n.channel_id) for n in rows] == [("pending", 0, None)] * 3
    assert "invalid_auth" in rows[0].last_error and rows[1].last_error is None
    # the token is fixed: each notice is sent once
    report = deliver(outbox, client_for(slack.base_url))
    assert report.stopped is None and report.count("sent") == 3
    assert len(posts(slack)) == 3
    assert {notice(session_factory, nid).attempts for nid in ids} == {1}


@pytest.mark.parametrize(
    ("method", "code"),
    [
        ("users.lookupByEmail", "token_revoked"),
        ("conversations.open", "account_inactive"),
        ("conversations.open", "missing_scope"),
        ("chat.postMessage", "not_authed"),
        ("chat.postMessage", "missing_scope"),
    ],
)
def test_a_token_refused_mid_pass_stops_there_and_nothing_is_failed(
    slack: SlackServer,
    client: Any,
    outbox: Any,
    session_factory: Any,
    add_workload: Any,
    enqueue: Any,
    method: str,
    code: str,
) -> None:
    ids = [
        enqueue(add_workload(f"w{i}", owner_email=f"u{i}@example.com", slack_channel="C0TRIAGE"))
        for i in range(3)
    ]
    for i in range(3):
        slack.add_user(f"u{i}@example.com", f"U0U{i}")
    slack.script(method, None, Fail(error=code))  # the first notice goes out, then refused
    report = deliver(outbox, client)
    assert [o.result for o in report.outcomes] == ["sent", "pending", "pending"]
    assert report.stopped is not None and code in report.stopped
    assert [m.channel for m in posts(slack)] == ["D0U0"]  # no fallback to the channel
    report = deliver(outbox, client)
    assert [o.result for o in report.outcomes] == ["sent", "sent"]
    assert sorted(m.channel for m in posts(slack)) == ["D0U0", "D0U1", "D0U2"]
    assert [notice(session_factory, nid).state for nid in ids] == ["sent"] * 3


def test_a_token_refused_while_checking_keeps_the_channel_to_check(
    slack: SlackServer,
    client_for: Any,
    outbox: Any,
    session_factory: Any,
    add_workload: Any,
    enqueue: Any,
) -> None:
    """Slack posted but answered 500; then the token is refused on the history check."""
    nid = enqueue(add_workload())
    slack.script("chat.postMessage", Fail(status=500, accept=True))
    deliver(outbox, client_for(slack.base_url))
    slack.script("conversations.history", Fail(error="invalid_auth"))
    stopped = deliver(outbox, client_for(slack.base_url))
    assert stopped.stopped is not None
    held = notice(session_factory, nid)
    assert (held.state, held.channel_id, held.attempts) == ("pending", "D0ANA", 1)
    [outcome] = deliver(outbox, client_for(slack.base_url)).outcomes
    assert outcome.result == "sent" and "already in Slack" in outcome.detail
    assert len(posts(slack)) == 1


def test_deliver_one_releases_its_claim_before_raising(
    slack: SlackServer,
    client_for: Any,
    outbox: Any,
    session_factory: Any,
    add_workload: Any,
    enqueue: Any,
) -> None:
    nid = enqueue(add_workload())
    [listed] = outbox.deliverable(now=datetime.now(UTC), stale_after=timedelta(minutes=10))
    with pytest.raises(SlackCredentialError):
        deliver_one(outbox, client_for(slack.base_url, token="xoxb-revoked"), listed)
    n = notice(session_factory, nid)
    assert (n.state, n.claimed_at, n.attempts) == ("pending", None, 0)


def test_unknown_owner_email_falls_back_to_the_workload_channel(
    slack: SlackServer,
    client: Any,
    outbox: Any,
    session_factory: Any,
    add_workload: Any,
    enqueue: Any,
) -> None:
    nid = enqueue(add_workload(owner_email="nobody@example.com", slack_channel="C0TRIAGE"))
    deliver(outbox, client)
    assert notice(session_factory, nid).channel_id == "C0TRIAGE"
    assert [m.channel for m in posts(slack)] == ["C0TRIAGE"]


def test_an_owner_and_a_channel_get_one_notice_by_dm(
    slack: SlackServer, client: Any, outbox: Any, add_workload: Any, enqueue: Any
) -> None:
    """examples/relitigate.yaml: the channel is used only if the owner cannot be DMed."""
    enqueue(add_workload(owner_email="ana@example.com", slack_channel="C0TRIAGE"))
    deliver(outbox, client)
    assert [m.channel for m in posts(slack)] == ["D0ANA"]
    assert slack.messages_in("C0TRIAGE") == []


def test_owner_user_id_is_used_directly(
    slack: SlackServer, client: Any, outbox: Any, add_workload: Any, enqueue: Any
) -> None:
    enqueue(add_workload(owner_slack_user="U0BO", owner_email="ana@example.com"))
    deliver(outbox, client)
    assert [m.channel for m in posts(slack)] == ["D0BO"]
    assert slack.calls_to("users.lookupByEmail") == []


def test_email_lookup_is_cached(
    slack: SlackServer, client: Any, outbox: Any, add_workload: Any, enqueue: Any
) -> None:
    wid = add_workload()
    enqueue(wid, "2026Q3")
    deliver(outbox, client)
    enqueue(wid, "2026Q4")
    other = add_workload("other-workload")  # same owner
    enqueue(other, "2026Q4")
    deliver(outbox, client)
    assert len(slack.calls_to("users.lookupByEmail")) == 1
    assert len(posts(slack)) == 3


def test_a_later_notice_replies_in_the_first_notices_thread(
    slack: SlackServer,
    client: Any,
    outbox: Any,
    session_factory: Any,
    add_workload: Any,
    enqueue: Any,
) -> None:
    wid = add_workload()
    first = enqueue(wid, "2026Q3", "watch", verdict="watch")
    deliver(outbox, client)
    second = enqueue(wid, "2026Q4", "retire")
    third = enqueue(wid, "2026Q4", "inconclusive", destination="C0PLATFORM")
    deliver(outbox, client)
    root = notice(session_factory, first)
    reply = notice(session_factory, second)
    assert root.thread_ts is None and reply.thread_ts == root.ts
    assert slack.calls_to("chat.postMessage")[1].args["thread_ts"] == root.ts
    # a different channel starts its own thread
    assert notice(session_factory, third).thread_ts is None
    assert [m.channel for m in posts(slack)] == ["D0ANA", "D0ANA", "C0PLATFORM"]


def test_an_older_notice_retried_late_never_replies_in_a_newer_quarters_thread(
    slack: SlackServer,
    client: Any,
    outbox: Any,
    session_factory: Any,
    add_workload: Any,
    enqueue: Any,
) -> None:
    wid = add_workload(owner_email=None, slack_channel="C0TRIAGE")
    old = enqueue(wid, "2026Q3", "watch", verdict="watch")
    slack.script("chat.postMessage", Fail(error="not_in_channel"))  # someone removed the bot
    deliver(outbox, client)
    new = enqueue(wid, "2026Q4", "retire")
    deliver(outbox, client)
    with session_factory.begin() as s:
        assert requeue_failed(s, [old]).requeued == (old,)  # the bot is back
    deliver(outbox, client)
    later = enqueue(wid, "2027Q1", "retire")
    deliver(outbox, client)

    q3, q4, q1 = (notice(session_factory, n) for n in (old, new, later))
    assert q4.thread_ts is None and q3.state == "sent" and q3.thread_ts is None
    assert q1.thread_ts == q4.ts  # the newer quarters keep their thread
    assert [m.thread_ts for m in posts(slack)] == [None, None, q4.ts]


def test_a_lost_reply_in_a_thread_is_found_among_the_replies(
    slack: SlackServer, client: Any, outbox: Any, add_workload: Any, enqueue: Any
) -> None:
    wid = add_workload()
    enqueue(wid, "2026Q3")
    deliver(outbox, client)
    enqueue(wid, "2026Q4")
    slack.script("chat.postMessage", Fail(status=503, accept=True))
    deliver(outbox, client)
    [outcome] = deliver(outbox, client).outcomes
    assert outcome.result == "sent" and "already in Slack" in outcome.detail
    assert len(posts(slack)) == 2 and len(slack.calls_to("conversations.replies")) == 1


def test_a_deleted_thread_root_posts_top_level(
    slack: SlackServer,
    client: Any,
    outbox: Any,
    session_factory: Any,
    add_workload: Any,
    enqueue: Any,
) -> None:
    wid = add_workload()
    enqueue(wid, "2026Q3")
    deliver(outbox, client)
    slack.state.messages.clear()  # someone deleted the first notice
    nid = enqueue(wid, "2026Q4")
    deliver(outbox, client)
    n = notice(session_factory, nid)
    assert n.state == "sent" and n.thread_ts is None


def test_platform_notices_and_digests_go_to_their_channel(
    slack: SlackServer,
    client: Any,
    outbox: Any,
    session_factory: Any,
    add_workload: Any,
    enqueue: Any,
) -> None:
    enqueue(add_workload(), "2026Q4", "inconclusive", destination="#ml-platform")
    enqueue(None, "2026Q4", "digest", destination="C0PLATFORM")
    report = deliver(outbox, client)
    assert report.count("sent") == 2
    assert [m.channel for m in posts(slack)] == ["C0PLATFORM", "C0PLATFORM"]
    assert slack.calls_to("users.lookupByEmail") == []


def test_limit(
    slack: SlackServer, client: Any, outbox: Any, add_workload: Any, enqueue: Any
) -> None:
    for i in range(3):
        enqueue(add_workload(f"w{i}"))
    assert len(deliver(outbox, client, limit=2).outcomes) == 2
    assert len(deliver(outbox, client).outcomes) == 1


def test_a_deliverer_with_a_stale_list_still_checks_before_posting(
    slack: SlackServer,
    client: Any,
    outbox: Any,
    session_factory: Any,
    add_workload: Any,
    enqueue: Any,
) -> None:
    """B lists the notice; A tries it meanwhile (Slack posts, answers 500); B must check."""
    nid = enqueue(add_workload())
    [listed] = outbox.deliverable(now=datetime.now(UTC), stale_after=timedelta(minutes=10))
    slack.script("chat.postMessage", Fail(status=500, accept=True))
    assert [o.result for o in deliver(outbox, client).outcomes] == ["pending"]
    outcome = deliver_one(outbox, client, listed)
    assert outcome.result == "sent" and "already in Slack" in outcome.detail
    assert len(posts(slack)) == 1 and notice(session_factory, nid).state == "sent"


def test_a_channel_given_by_name_is_posted_by_id_and_threads(
    slack: SlackServer,
    client: Any,
    outbox: Any,
    session_factory: Any,
    add_workload: Any,
    enqueue: Any,
) -> None:
    for i in range(250):  # the name is on a later page of conversations.list
        slack.add_channel(f"C{i:06d}", name=f"aaa-{i:03d}")
    wid = add_workload(owner_email=None, slack_channel="#triage")
    first = enqueue(wid, "2026Q3", "watch", verdict="watch")
    deliver(outbox, client)
    second = enqueue(wid, "2026Q4", "retire")
    deliver(outbox, client)

    root, reply = notice(session_factory, first), notice(session_factory, second)
    assert root.channel_id == reply.channel_id == "C0TRIAGE"
    assert reply.thread_ts == root.ts
    assert [m.channel for m in posts(slack)] == ["C0TRIAGE", "C0TRIAGE"]
    assert slack.calls_to("chat.postMessage")[0].args["channel"] == "C0TRIAGE"
    assert len(slack.calls_to("conversations.list")) == 3  # paged once, then cached


def test_without_channels_read_a_named_channel_is_still_posted_to(
    slack: SlackServer,
    client: Any,
    outbox: Any,
    session_factory: Any,
    add_workload: Any,
    enqueue: Any,
) -> None:
    slack.list_scope_missing = True
    wid = add_workload(owner_email=None, slack_channel="#triage")
    nid = enqueue(wid, "2026Q4", "retire")

    [outcome] = deliver(outbox, client).outcomes

    assert outcome.result == "sent"
    assert slack.calls_to("chat.postMessage")[0].args["channel"] == "#triage"
    assert notice(session_factory, nid).channel_id == "C0TRIAGE"
