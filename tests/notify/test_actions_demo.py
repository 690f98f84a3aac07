"""The demo's retire notice, acknowledged and re-run from the loopback Slack server.

The demo's ``ticket-triage`` workload in 2026Q4 (its simulated frontier model has caught
up) runs through the real workload flow against the provider simulator; its retire notice is
delivered to the owner's DM on the loopback Slack server; the owner acknowledges it over the
signed HTTP endpoint and clicks "Re-run now", which runs the flow again (a fresh attempt)
and posts the result in the notice's thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from tests.notify.conftest import CANARY_TOKEN
from tests.notify.socket_server import InteractiveSlackServer, click, signed_post

SECRET = "CANARY-demo-signing-secret"


@pytest.fixture(scope="module")
def harness() -> Iterator[None]:
    from prefect.settings import (
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        PREFECT_SERVER_ANALYTICS_ENABLED,
        temporary_settings,
    )
    from prefect.testing.utilities import prefect_test_harness

    with (
        temporary_settings(
            {PREFECT_SERVER_ANALYTICS_ENABLED: False, PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}
        ),
        prefect_test_harness(server_startup_timeout=120),
    ):
        yield


@pytest.mark.slow
def test_the_demo_retire_notice_is_acknowledged_and_rerun_from_slack(
    harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.parameters import WorkloadRequest
    from flows.workload import relitigate_workload
    from registry.db import upgrade_to_head
    from registry.models import Decision, NoticeAction
    from registry.outbox import NoticeOutbox
    from registry.sync import sync_workloads
    from relitigate import demo
    from relitigate.cli.listen_runner import make_rerun
    from relitigate.simulator import SimulatorProcess
    from tasks.context import RegistryContext, handed_down
    from tasks.notice_actions import action_handler
    from tasks.notify.delivery import deliver
    from tasks.notify.listener import InteractionEndpoint
    from tasks.notify.slack import SlackClient
    from tasks.settings import Settings

    url = f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    monkeypatch.setenv("RELITIGATE_DEMO_SIM_KEY", "sim-demo-key")
    upgrade_to_head(url)
    profile, evalsets = demo.prepare(tmp_path, api_key="sim-demo-key")
    with (
        InteractiveSlackServer(CANARY_TOKEN, app_token="xapp-unused-here") as slack,
        SimulatorProcess(profile, evalsets) as sim,
    ):
        slack.add_user("support-ml@example.com", "U0SUPPORT")
        slack.add_channel("C0SUPPORT", name="support-ml")
        from registry.db import open_registry

        settings = Settings(
            database_url=url, data_dir=tmp_path, slack_token=SecretStr(CANARY_TOKEN),
            slack_base_url=slack.base_url, retry_cooldown_s=0,
        )  # fmt: skip
        ctx = RegistryContext(settings=settings, sessions=open_registry(url))
        with ctx.sessions.begin() as session:
            sync_workloads(session, demo.write_workloads(tmp_path, "2026Q4", sim.base_url))
        with handed_down(ctx):
            first = asyncio.run(
                relitigate_workload(WorkloadRequest(workload="ticket-triage", quarter="2026Q4"))
            )
        assert first.verdict == "retire" and first.notice_kind == "retire"

        client = SlackClient(SecretStr(CANARY_TOKEN), base_url=slack.base_url, retry_interval=0.01)
        (sent,) = [o for o in deliver(NoticeOutbox(ctx.sessions), client).outcomes]
        assert sent.result == "sent" and sent.channel_id == "D0SUPPORT"
        ts = str(sent.ts)

        handler = action_handler(ctx, client, rerun=make_rerun(ctx))
        with InteractionEndpoint(SecretStr(SECRET), on_interaction=handler.handle, port=0) as ep:
            ack = click("acknowledge", user="U0SUPPORT", channel="D0SUPPORT", ts=ts)
            assert signed_post(ep.url, ack, secret=SECRET) == 200
            rerun = click("rerun", user="U0SUPPORT", channel="D0SUPPORT", ts=ts, action_ts="2.2")
            assert signed_post(ep.url, rerun, secret=SECRET) == 200  # runs the flow inline
            done = click("done", user="U0SUPPORT", channel="D0SUPPORT", ts=ts, action_ts="3.3")
            assert signed_post(ep.url, done, secret=SECRET) == 200

    thread = [m.text for m in slack.state.messages if m.thread_ts == ts]
    assert thread[0] == ":eyes: <@U0SUPPORT> acknowledged this notice."
    assert "started a re-run of ticket-triage 2026Q4" in thread[1]
    assert thread[2].startswith(":white_check_mark: Re-run of ticket-triage 2026Q4 finished")
    assert "(attempt 2): *retire* (unchanged)" in thread[2]
    with ctx.sessions.begin() as session:
        actions = [(str(a.action), a.slack_user) for a in session.scalars(select(NoticeAction))]
        decision = session.scalars(select(Decision)).one()
        assert (decision.attempt, decision.revision) == (2, 2)
    assert actions == [("acknowledge", "U0SUPPORT"), ("rerun", "U0SUPPORT"), ("done", "U0SUPPORT")]
    # "Mark as done": the routing export follows the switch
    from tasks.report.reader import routing_records
    from tasks.report.routing import route_for

    with ctx.sessions.begin() as session:
        (record,) = [r for r in routing_records(session) if r.workload == "ticket-triage"]
    assert record.marked_done is not None and record.marked_done[0] == "U0SUPPORT"
    route = route_for(record)
    assert route is not None and route.target == "buy"
    assert "marked done by U0SUPPORT" in route.reason
    ctx.close()
