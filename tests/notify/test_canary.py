"""The Slack token never leaves the client: not in logs, rows, payloads, output or errors."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

import pytest
import typer
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from registry.models import Base
from relitigate.cli import notice_cmds
from tasks.credentials import load_slack_token
from tasks.notify.delivery import deliver
from tasks.notify.errors import SlackError
from tests.notify.slack_server import Fail, SlackServer
from tests.notify.test_slack import dead_url


def dump_registry(factory: sessionmaker[Session]) -> str:
    """Every row of every table, as text."""
    out = []
    with factory.begin() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(select(table)).all():
                out.append(f"{table.name}: {tuple(row)!r}")
    return "\n".join(out)


def test_canary_token_appears_nowhere(
    slack: SlackServer,
    client_for: Any,
    outbox: Any,
    session_factory: sessionmaker[Session],
    migrated_url: str,
    add_workload: Any,
    enqueue: Any,
    canary: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("slack_sdk", "tasks.notify", "tasks.notify.slack_sdk", "urllib3"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    client = client_for(slack.base_url)
    errors: list[BaseException] = []
    slack.echo_token = True  # every error body repeats the Authorization header it got

    # every path: sent, rate limited, 5xx (lost response), email lookup, permanent failure,
    # reconciliation from history, connection refused, a wrong token
    wid = add_workload()
    enqueue(wid, "2026Q2")
    enqueue(add_workload("lost", owner_email=None, slack_channel="C0GONE"))
    slack.script("chat.postMessage", Fail(status=429, retry_after=0))
    deliver(outbox, client)
    enqueue(wid, "2026Q3")
    slack.script("chat.postMessage", Fail(status=500, accept=True))
    deliver(outbox, client)
    deliver(outbox, client)
    enqueue(wid, "2026Q4")
    deliver(outbox, client_for(dead_url()))
    deliver(outbox, client)
    calls: list[Callable[[], object]] = [
        lambda: client_for(dead_url()).post_message("C0TRIAGE", text="x"),
        lambda: client.lookup_user_id("nobody@example.com"),
        lambda: client_for(slack.base_url, token="xoxb-other").post_message("C0", text="x"),
    ]
    for call in calls:
        try:
            call()
        except SlackError as exc:
            errors.append(exc)

    # the CLI, with the token in the environment
    app = typer.Typer()

    @app.command()
    def version() -> None:
        """Another command, so that ``notices`` stays a sub-command."""

    notice_cmds.register(app)
    env = {
        "RELITIGATE_DATABASE_URL": migrated_url,
        "RELITIGATE_SLACK_TOKEN": canary,
        "RELITIGATE_SLACK_BASE_URL": slack.base_url,
    }
    cli_output = ""
    for args in (["deliver"], [], ["--json"], ["--failed"], ["--preview", "1"]):
        result = CliRunner().invoke(app, ["notices", *args], env=env)
        assert result.exit_code == 0, result.output
        cli_output += result.output

    assert len(slack.state.messages) == 3, "the scenario really sent notices"
    assert any("Sending a request" in r.getMessage() for r in caplog.records), "debug logs on"
    assert len(errors) == 3

    logs = "\n".join(
        f"{r.name} {r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records
    )
    captured = capsys.readouterr()
    registry = dump_registry(session_factory)
    payloads = repr([(m.text, m.blocks, m.metadata) for m in slack.state.messages])
    recorded = repr([(c.method, c.args) for c in slack.calls])
    messages = "\n".join(
        "".join(traceback.format_exception(e)) + repr(e) + repr(getattr(e, "__cause__", None))
        for e in errors
    )
    for where, text in {
        "logs": logs,
        "stdout": captured.out,
        "stderr": captured.err,
        "cli output": cli_output,
        "registry": registry,
        "payloads": payloads,
        "recorded calls": recorded,
        "exceptions": messages,
        "client repr": repr(client),
    }.items():
        assert canary not in text, f"token leaked into {where}"
        assert "CANARY" not in text, f"part of the token leaked into {where}"
    assert "channel_not_found" in registry  # the dump is real
    assert "you sent Bearer" in logs  # the echoing bodies were logged, scrubbed


def test_load_token_prefers_settings_and_never_touches_prefect_without_a_block() -> None:
    token = SecretStr("xoxb-set")
    loaded = load_slack_token(token=token, secret_block="ignored")
    assert loaded is not None and loaded.value is token
    assert loaded.setting == "RELITIGATE_SLACK_TOKEN"
    assert load_slack_token(token=None) is None
    assert load_slack_token(token=SecretStr("")) is None
    assert "xoxb-set" not in repr(token) and "xoxb-set" not in str(token)
