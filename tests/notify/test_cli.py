"""``relitigate notices`` through typer's CliRunner on a local app built with register()."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from relitigate.cli import notice_cmds
from relitigate.errors import user_error_exit_code
from tasks.notify.errors import DeliveryStoppedError, NoticeNotFoundError
from tests.notify.slack_server import SlackServer

ROTATED = "xo" + "xb-rotated-away"
"""A refused token, built at run time so no token-shaped string is committed."""


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()

    @app.command()
    def version() -> None:  # a second command so "notices" stays a sub-command
        """Version."""

    notice_cmds.register(app)
    return app


@pytest.fixture
def env(migrated_url: str, slack: SlackServer, canary: str) -> dict[str, str]:
    return {
        "RELITIGATE_DATABASE_URL": migrated_url,
        "RELITIGATE_SLACK_TOKEN": canary,
        "RELITIGATE_SLACK_BASE_URL": slack.base_url,
    }


def invoke(app: typer.Typer, env: dict[str, str], *args: str) -> Any:
    return CliRunner().invoke(app, ["notices", *args], env=env)


def test_without_a_token_delivery_says_so_once_and_leaves_notices_pending(
    app: typer.Typer, env: dict[str, str], slack: SlackServer, add_workload: Any, enqueue: Any
) -> None:
    enqueue(add_workload(), "2026Q3")
    enqueue(add_workload("other"), "2026Q4")
    env = {**env, "RELITIGATE_SLACK_TOKEN": ""}
    result = invoke(app, env, "deliver")
    assert result.exit_code == 0, result.output
    assert result.output.count("No Slack token") == 1
    assert "2 notice(s) stay pending" in result.output
    assert slack.calls == []
    listed = json.loads(invoke(app, env, "--pending", "--json").output)
    assert [n["status"] for n in listed] == ["pending", "pending"]


def test_deliver_then_list(
    app: typer.Typer, env: dict[str, str], slack: SlackServer, add_workload: Any, enqueue: Any
) -> None:
    ok = enqueue(add_workload())
    bad = enqueue(add_workload("lost", owner_email=None, slack_channel="C0GONE"))
    result = invoke(app, env, "deliver")
    assert result.exit_code == 1, result.output  # a notice failed
    assert f"notice {ok}: sent -> D0ANA" in result.output
    assert f"notice {bad}: failed" in result.output and "channel_not_found" in result.output
    assert "delivery done: sent 1, failed 1, still pending 0, skipped 0" in result.output

    failed = invoke(app, env, "--failed")
    assert failed.exit_code == 0
    [line] = failed.output.splitlines()
    assert (
        line.split()[0] == str(bad)
        and "reason: Slack chat.postMessage failed: channel_not_found" in line
    )

    everything = json.loads(invoke(app, env, "--json").output)
    assert [(n["id"], n["status"]) for n in everything] == [(ok, "sent"), (bad, "failed")]
    assert everything[0]["channel_id"] == "D0ANA" and everything[0]["ts"]
    assert invoke(app, env, "--pending").output.strip() == "no pending notices"
    assert len(slack.state.messages) == 1
    # a second delivery has nothing to do
    again = invoke(app, env, "deliver")
    assert again.exit_code == 0 and "sent 0, failed 0" in again.output


def test_retry_requeues_failed_notices_and_the_next_delivery_sends_them(
    app: typer.Typer, env: dict[str, str], slack: SlackServer, add_workload: Any, enqueue: Any
) -> None:
    a = enqueue(add_workload("a", owner_email=None, slack_channel="C0LATER"))
    b = enqueue(add_workload("b", owner_email=None, slack_channel="C0LATER"))
    sent = enqueue(add_workload("c"))
    assert invoke(app, env, "deliver").exit_code == 1
    slack.add_channel("C0LATER")  # someone fixed the channel

    one = invoke(app, env, "retry", str(a), str(sent))
    assert one.exit_code == 0, one.output
    assert f"notice {sent} is sent, not failed: left as it is" in one.output
    assert f"re-queued 1 notice(s): {a}" in one.output
    rest = invoke(app, env, "retry", "--failed")
    assert rest.exit_code == 0 and f"re-queued 1 notice(s): {b}" in rest.output
    assert "re-queued 0 notice(s)" in invoke(app, env, "retry", "--failed").output

    done = invoke(app, env, "deliver")
    assert done.exit_code == 0, done.output
    assert "delivery done: sent 2, failed 0" in done.output
    assert [m.channel for m in slack.state.messages] == ["D0ANA", "C0LATER", "C0LATER"]


def test_retry_of_an_unknown_id_changes_nothing(
    app: typer.Typer, env: dict[str, str], add_workload: Any, enqueue: Any
) -> None:
    bad = enqueue(add_workload(owner_email=None, slack_channel="C0GONE"))
    invoke(app, env, "deliver")
    result = invoke(app, env, "retry", str(bad), "404")
    assert isinstance(result.exception, NoticeNotFoundError)
    assert result.exception.exit_code == 2 and "404" in str(result.exception)
    [row] = json.loads(invoke(app, env, "--json").output)
    assert row["status"] == "failed"


@pytest.mark.parametrize("args", [[], ["--failed", "1"]])
def test_retry_needs_ids_or_failed_but_not_both(
    app: typer.Typer, env: dict[str, str], args: list[str]
) -> None:
    result = invoke(app, env, "retry", *args)
    assert result.exit_code == 2 and "--failed" in result.output


def test_a_refused_token_stops_delivery_with_one_line_and_exit_2(
    app: typer.Typer, env: dict[str, str], slack: SlackServer, add_workload: Any, enqueue: Any
) -> None:
    ids = [enqueue(add_workload(f"w{i}")) for i in range(2)]
    result = invoke(app, {**env, "RELITIGATE_SLACK_TOKEN": ROTATED}, "deliver")
    assert isinstance(result.exception, DeliveryStoppedError)
    assert result.exception.exit_code == 2
    message = str(result.exception)
    assert "invalid_auth" in message and "RELITIGATE_SLACK_TOKEN" in message
    assert ROTATED not in message + result.output
    assert result.output.count("invalid_auth") == 0  # said once, by the error line
    assert f"notice {ids[1]}: pending  not tried" in result.output
    listed = json.loads(invoke(app, env, "--pending", "--json").output)
    assert [n["status"] for n in listed] == ["pending", "pending"]


def test_an_outage_exits_1_and_nothing_due_exits_0(
    app: typer.Typer, env: dict[str, str], slack: SlackServer, add_workload: Any, enqueue: Any
) -> None:
    assert invoke(app, env, "deliver").exit_code == 0  # nothing due
    enqueue(add_workload(owner_email=None))  # a channel: the post is not retried
    slack.outage = True
    down = invoke(app, env, "deliver")
    assert down.exit_code == 1 and "still pending 1" in down.output
    slack.outage = False
    assert invoke(app, env, "deliver").exit_code == 0


def test_deliver_help_documents_the_exit_codes(app: typer.Typer, env: dict[str, str]) -> None:
    text = " ".join(invoke(app, env, "deliver", "--help").output.split())
    for code in ("0 every due notice was sent", "1 a notice failed", "2 Slack refused the token"):
        assert code in text


def test_pending_lists_claimed_notices_as_sending(
    app: typer.Typer, env: dict[str, str], outbox: Any, add_workload: Any, enqueue: Any
) -> None:
    from datetime import UTC, datetime

    waiting = enqueue(add_workload(), "2026Q3")
    claimed = enqueue(add_workload("other"), "2026Q4")
    t0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert outbox.claim(claimed, seen_claim=None, now=t0) is not None
    listed = json.loads(invoke(app, env, "--pending", "--json").output)
    assert [(n["id"], n["status"]) for n in listed] == [(waiting, "pending"), (claimed, "sending")]
    assert [n["claimed_at"] for n in listed] == [None, t0.isoformat()]
    lines = invoke(app, env, "--pending").output.splitlines()
    assert "sending" in lines[1] and "claimed 2026-12-01T09:00:00+00:00" in lines[1]
    assert invoke(app, env, "--failed").output.strip() == "no failed notices"


def test_preview_renders_the_message_as_text(
    app: typer.Typer, env: dict[str, str], add_workload: Any, enqueue: Any
) -> None:
    nid = enqueue(add_workload())
    result = invoke(app, env, "--preview", str(nid))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"notice {nid} · retire · ticket-triage · 2026Q4 · pending"
    assert "Retire: ticket-triage fine-tune (2026Q4)" in lines
    assert "Recommended action" in result.output
    as_json = json.loads(invoke(app, env, "--preview", str(nid), "--json").output)
    assert as_json["blocks"][0]["type"] == "header"


def test_preview_of_an_unknown_notice_is_a_user_error(
    app: typer.Typer, env: dict[str, str]
) -> None:
    result = invoke(app, env, "--preview", "999")
    assert isinstance(result.exception, NoticeNotFoundError)
    assert result.exception.exit_code == 2 and "999" in str(result.exception)


def test_pending_and_failed_together_is_refused(app: typer.Typer, env: dict[str, str]) -> None:
    result = invoke(app, env, "--pending", "--failed")
    assert result.exit_code == 2 and "not both" in result.output


def test_an_uninitialised_registry_is_a_user_error(
    app: typer.Typer, env: dict[str, str], tmp_path: Any
) -> None:
    env = {**env, "RELITIGATE_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}"}
    result = invoke(app, env)
    assert result.exception is not None
    assert user_error_exit_code(result.exception) == 2
    assert "relitigate init" in str(result.exception)


def test_importing_the_commands_loads_no_heavy_modules() -> None:
    code = (
        "import sys, typer; from relitigate.cli import notice_cmds; "
        "notice_cmds.register(typer.Typer()); "
        "bad = [m for m in ('slack_sdk', 'sqlalchemy', 'prefect', 'litellm') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
