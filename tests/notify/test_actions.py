"""Owners act on notices from Slack: each button end to end against the loopback Slack
server (Socket Mode envelopes and signed HTTP posts), on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.notify.conftest import CANARY_TOKEN
from tests.notify.socket_server import (
    InteractiveSlackServer,
    click,
    dispute_submission,
    signed_post,
)

APP_TOKEN = "xa" + "pp-1-CANARY-app-token-never-log-me"
SIGNING_SECRET = "CANARY-signing-secret-never-log-me"


@pytest.fixture
def islack() -> Iterator[InteractiveSlackServer]:
    """A loopback Slack with Socket Mode: owner ana, bo (not an owner), two channels."""
    with InteractiveSlackServer(CANARY_TOKEN, app_token=APP_TOKEN) as server:
        server.add_user("ana@example.com", "U0ANA")
        server.add_user("bo@example.com", "U0BO")
        server.add_user("cy@example.com", "U0CY")
        server.add_channel("C0TRIAGE", name="triage")
        server.add_channel("C0PLATFORM", name="ml-platform")
        server.socket.groups["S0ADMINS"] = ["U0CY"]
        yield server


@dataclass
class Scene:
    """A sent notice and the handler its clicks reach."""

    server: InteractiveSlackServer
    sessions: sessionmaker[Session]
    handler: Any
    notice_id: int
    channel: str
    ts: str

    def actions(self) -> list[Any]:
        from registry.models import NoticeAction

        with self.sessions.begin() as session:
            rows = session.scalars(select(NoticeAction).order_by(NoticeAction.id)).all()
            return [(str(r.action), r.slack_user, r.note, r.snoozed_until) for r in rows]

    def thread(self) -> list[str]:
        return [m.text for m in self.server.state.messages if m.thread_ts == self.ts]


def _context(sessions: sessionmaker[Session], server: InteractiveSlackServer, **env: Any) -> Any:
    from tasks.context import RegistryContext
    from tasks.settings import Settings

    settings = Settings(
        database_url="sqlite:///unused.sqlite3",
        slack_token=SecretStr(CANARY_TOKEN),
        slack_base_url=server.base_url,
        slack_platform_channel="C0PLATFORM",
        slack_admins="S0ADMINS",
        **env,
    )
    return RegistryContext(settings=settings, sessions=sessions)


@pytest.fixture
def scene(
    islack: InteractiveSlackServer,
    session_factory: sessionmaker[Session],
    add_workload: Callable[..., int],
    enqueue: Callable[..., int],
    client_for: Callable[..., Any],
) -> Callable[..., Scene]:
    """Sends one notice (``kind``) to ana's DM; its handler re-runs with ``rerun``."""

    def build(kind: str = "retire", rerun: Any = None) -> Scene:
        from registry.outbox import NoticeOutbox
        from tasks.notice_actions import action_handler
        from tasks.notify.delivery import deliver

        client = client_for(islack.base_url)
        notice_id = enqueue(add_workload(), kind=kind, verdict=kind)
        report = deliver(NoticeOutbox(session_factory), client)
        sent = report.outcomes[0]
        assert sent.result == "sent", sent
        handler = action_handler(_context(session_factory, islack), client, rerun=rerun)
        return Scene(islack, session_factory, handler, notice_id, str(sent.channel_id),
                     str(sent.ts))  # fmt: skip

    return build


def test_the_notice_carries_its_buttons(scene: Callable[..., Scene]) -> None:
    s = scene("watch")
    blocks = s.server.state.messages[0].blocks or []
    buttons = [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert buttons == [
        "relitigate_acknowledge", "relitigate_snooze", "relitigate_rerun",
        "relitigate_dispute", "relitigate_done",
    ]  # fmt: skip


def test_acknowledge_over_socket_mode_is_recorded_once_and_answered_in_the_thread(
    scene: Callable[..., Scene], caplog: pytest.LogCaptureFixture
) -> None:
    from tasks.notify.slack import SocketModeListener

    caplog.set_level(logging.DEBUG)
    s = scene()
    listener = SocketModeListener(
        SecretStr(APP_TOKEN), on_interaction=s.handler.handle, base_url=s.server.base_url
    )
    listener.connect()
    try:
        s.server.wait_connected()
        payload = click("acknowledge", user="U0ANA", channel=s.channel, ts=s.ts)
        first = s.server.push("interactive", payload)
        s.server.wait_ack(first)
        again = s.server.push("interactive", payload)  # Slack redelivers the same click
        s.server.wait_ack(again)
        events = s.server.push("events_api", {"type": "event_callback"})
        s.server.wait_ack(events)
        _wait(lambda: len(s.actions()) == 1 and len(s.thread()) == 1)
    finally:
        listener.close()
    assert s.actions() == [("acknowledge", "U0ANA", "", None)]
    assert s.thread() == [":eyes: <@U0ANA> acknowledged this notice."]
    assert [c.authorized for c in s.server.calls_to("apps.connections.open")] == [True]
    assert caplog.records and not any(APP_TOKEN in r.getMessage() for r in caplog.records)


def test_a_click_from_someone_else_is_refused_in_private_and_recorded_nowhere(
    scene: Callable[..., Scene], dump_registry: Callable[[str], Any], migrated_url: str
) -> None:
    s = scene()
    before = dump_registry(migrated_url)
    outcome = s.handler.handle(click("done", user="U0BO", channel=s.channel, ts=s.ts))
    assert outcome == "refused"
    assert dump_registry(migrated_url) == before
    assert [(e.user, "not" in e.text) for e in s.server.socket.ephemerals] == [("U0BO", True)]
    assert s.thread() == []


def test_an_admin_group_member_may_act(scene: Callable[..., Scene]) -> None:
    s = scene()
    assert s.handler.handle(click("done", user="U0CY", channel=s.channel, ts=s.ts)) == "recorded"
    assert s.actions() == [("done", "U0CY", "", None)]
    assert "routing export" in s.thread()[0]


def test_snooze_is_for_watch_notices_and_lasts_until_next_quarter(
    scene: Callable[..., Scene],
) -> None:
    s = scene("watch")
    assert s.handler.handle(click("snooze", user="U0ANA", channel=s.channel, ts=s.ts)) == (
        "recorded"
    )
    assert s.actions() == [("snooze", "U0ANA", "", "2027Q1")]
    assert s.thread() == [":zzz: <@U0ANA> snoozed this notice until 2027Q1."]


def test_dispute_asks_why_then_flags_the_platform_channel_with_the_evidence(
    scene: Callable[..., Scene],
) -> None:
    s = scene()
    assert s.handler.handle(click("dispute", user="U0ANA", channel=s.channel, ts=s.ts)) == "asked"
    assert s.actions() == []
    view = s.server.socket.views[0]
    submitted = dispute_submission(view, user="U0ANA", reason="the eval set is stale")
    assert s.handler.handle(submitted) == "recorded"
    assert s.handler.handle(submitted) == "duplicate"
    assert s.actions() == [("dispute", "U0ANA", "the eval set is stale", None)]
    assert "disputed this decision: the eval set is stale" in s.thread()[0]
    (flag,) = s.server.messages_in("C0PLATFORM")
    assert "ticket-triage 2026Q4" in flag.text and "the eval set is stale" in flag.text
    assert "<http://127.0.0.1:4200/artifacts/artifact/1b2c|Decision memo>" in flag.text


def test_the_signed_endpoint_handles_a_click_and_refuses_bad_signatures_unlogged(
    scene: Callable[..., Scene], caplog: pytest.LogCaptureFixture
) -> None:
    from tasks.notify.listener import InteractionEndpoint

    s = scene()
    payload = click("acknowledge", user="U0ANA", channel=s.channel, ts=s.ts)
    secret = SecretStr(SIGNING_SECRET)
    caplog.set_level(logging.DEBUG)
    with InteractionEndpoint(secret, on_interaction=s.handler.handle, port=0) as endpoint:
        url = endpoint.url
        assert signed_post(url, payload, secret=None) == 401
        assert signed_post(url, payload, secret="not-the-secret") == 401
        stale = datetime.now(UTC).timestamp() - 600
        assert signed_post(url, payload, secret=SIGNING_SECRET, timestamp=stale) == 401
        assert s.actions() == []
        assert signed_post(url, payload, secret=SIGNING_SECRET) == 200
        assert signed_post(url, payload, secret=SIGNING_SECRET) == 200  # a retry: once
    assert s.actions() == [("acknowledge", "U0ANA", "", None)]
    refused = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refused) == 3
    assert not any("U0ANA" in r or "block_actions" in r for r in refused)
    assert not any(SIGNING_SECRET in r.getMessage() for r in caplog.records)


def test_rerun_posts_the_result_in_the_thread(scene: Callable[..., Scene]) -> None:
    asked: list[Any] = []

    def rerun(request: Any) -> str:
        asked.append(request)
        return f"re-run of {request.workload} {request.quarter}: keep"

    s = scene(rerun=rerun)
    assert s.handler.handle(click("rerun", user="U0ANA", channel=s.channel, ts=s.ts)) == (
        "recorded"
    )
    assert [(r.workload, r.quarter) for r in asked] == [("ticket-triage", "2026Q4")]
    thread = s.thread()
    assert "started a re-run of ticket-triage 2026Q4" in thread[0]
    assert thread[1] == "re-run of ticket-triage 2026Q4: keep"


def test_an_unacknowledged_retire_is_reminded_then_escalated_once(
    scene: Callable[..., Scene], client_for: Callable[..., Any]
) -> None:
    from registry.outbox import NoticeOutbox
    from tasks.notice_actions import enqueue_due_reminders
    from tasks.notify.delivery import deliver

    s = scene()
    ctx = _context(s.sessions, s.server, reminder_days=7, escalation_days=7)
    client = client_for(s.server.base_url)
    start = datetime.now(UTC)

    def at(days: float) -> Any:
        result = enqueue_due_reminders(ctx, now=start + timedelta(days=days))
        deliver(NoticeOutbox(s.sessions), client)
        return result

    assert at(6.9).reminders == () and s.thread() == []
    assert len(at(7.1).reminders) == 1
    assert at(7.2).reminders == ()  # exactly once
    assert len(s.thread()) == 1 and "Reminder" in s.thread()[0]
    assert at(14.0).escalations == ()  # 6.9 days after the reminder
    assert len(at(14.2).escalations) == 1
    assert at(30).escalations == ()
    (escalation,) = s.server.messages_in("C0PLATFORM")
    assert "Escalation" in escalation.text and "ticket-triage" in escalation.text


def test_an_acknowledged_retire_is_never_reminded(scene: Callable[..., Scene]) -> None:
    from tasks.notice_actions import enqueue_due_reminders

    s = scene()
    s.handler.handle(click("acknowledge", user="U0ANA", channel=s.channel, ts=s.ts))
    ctx = _context(s.sessions, s.server)
    later = enqueue_due_reminders(ctx, now=datetime.now(UTC) + timedelta(days=60))
    assert later.reminders == () and later.escalations == ()


def _wait(done: Callable[[], bool], timeout: float = 10) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_open_decisions_show_their_state_for_the_report_and_the_digest(
    scene: Callable[..., Scene],
) -> None:
    from registry.notice_actions import open_decisions
    from tasks.notices import _open_lines
    from tasks.notify.digest import RecordedDecision, plan_quarter_digest
    from tasks.notify.message import build_digest_payload

    s = scene("watch")
    with s.sessions.begin() as session:
        assert [(o.notice_id, o.state) for o in open_decisions(session)] == [(s.notice_id, "open")]
    s.handler.handle(click("snooze", user="U0ANA", channel=s.channel, ts=s.ts))
    with s.sessions.begin() as session:
        (row,) = open_decisions(session)
        lines = _open_lines(session)
    assert (row.state, row.state_by, row.snoozed_until) == ("snooze", "U0ANA", "2027Q1")
    decided = {"ticket-triage": RecordedDecision("ticket-triage", "watch", {}, {})}
    facts = plan_quarter_digest("2026Q4", decided, open_decisions=lines).facts
    assert facts is not None
    text = build_digest_payload(facts)["text"]
    assert "Open decisions:\n• ticket-triage 2026Q4 watch: snoozed, 0 days" in text
    s.handler.handle(click("done", user="U0ANA", channel=s.channel, ts=s.ts, action_ts="3.3"))
    with s.sessions.begin() as session:
        assert open_decisions(session) == []
