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
from tasks.notify.errors import NoticeError, NoticeNotFoundError
from tests.notify.slack_server import SlackServer


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
    assert result.exit_code == 0, result.output
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
    assert "sent 0, failed 0" in invoke(app, env, "deliver").output


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
    assert isinstance(result.exception, NoticeError)
    assert "relitigate init" in str(result.exception)


def test_importing_the_commands_loads_no_heavy_modules() -> None:
    code = (
        "import sys, typer; from relitigate.cli import notice_cmds; "
        "notice_cmds.register(typer.Typer()); "
        "bad = [m for m in ('slack_sdk', 'sqlalchemy', 'prefect', 'litellm') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
