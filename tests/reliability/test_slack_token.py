"""A wrong or rotated Slack token is never a notice's fault, and never leaks.

Real processes and loopback servers, on SQLite and PostgreSQL:

- ``relitigate notices deliver`` with a token Slack refuses (``invalid_auth``): exit 2 with
  one line naming the setting to fix, nothing marked failed, nothing posted. With the right
  token: exit 0, every notice posted exactly once (the Slack test server counts posts), and a
  third pass posts nothing.
- A Slack server that echoes the token it was sent into every error body: neither the
  refused token nor the good one appears in the command's output (with tracebacks on) or in
  any registry row.
- The ``deliver-notices`` flow, its token in a Prefect Secret block read from async code
  (Prefect 3 hands sync-style callers a coroutine there): a refused token leaves everything
  pending, the right one sends each notice once; no "never awaited" warning, and neither
  token reaches the flow's logs in Prefect's database.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import dump_database
from tests.notify.samples import payload
from tests.notify.slack_server import Fail, SlackServer


def new_token(prefix: str = "xoxb-") -> str:
    """A fresh token-like value (tests assert it leaks nowhere)."""
    return prefix + secrets.token_hex(12)


def workspace(token: str) -> SlackServer:
    """A Slack with two owners, a workload channel and the platform channel."""
    server = SlackServer(token)
    server.add_user("ana@example.com", "U0ANA")
    server.add_user("bo@example.com", "U0BO")
    server.add_channel("C0TRIAGE", name="triage")
    server.add_channel("C0PLATFORM", name="ml-platform")
    return server


def fill_outbox(factory: sessionmaker[Session]) -> list[int]:
    """Three owner notices (DM by email, DM by id, channel only) and a quarter digest."""
    from registry.models import Case, Workload
    from registry.notices import enqueue_notice

    owners = [
        ("triage", "ana@example.com", None, "C0TRIAGE"),
        ("clauses", None, "U0BO", None),
        ("routing", None, None, "#triage"),
    ]
    ids = []
    with factory.begin() as session:
        for name, email, user, channel in owners:
            workload = Workload(
                name=name,
                case=Case.COST_DISTILLATION,
                volume_per_day=12_000_000,
                owner_email=email,
                owner_slack_user=user,
                slack_channel=channel,
            )
            session.add(workload)
            session.flush()
            ids.append(
                enqueue_notice(
                    session,
                    decision_id=None,
                    workload_id=workload.id,
                    quarter="2026Q4",
                    kind="retire",
                    destination=None,
                    payload=payload(),
                ).id
            )
        ids.append(
            enqueue_notice(
                session,
                decision_id=None,
                workload_id=None,
                quarter="2026Q4",
                kind="digest",
                destination="#ml-platform",
                payload=payload(),
            ).id
        )
    return ids


def deliver_cli(
    url: str, slack: SlackServer, token: str, home: Path, *, debug: bool = False
) -> subprocess.CompletedProcess[str]:
    """``relitigate notices deliver`` as its own process (``debug``: tracebacks on)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("RELITIGATE_") and not k.startswith("PREFECT_")
    }
    env.update(
        RELITIGATE_DATABASE_URL=url,
        RELITIGATE_DATA_DIR=str(home / "data"),
        RELITIGATE_SLACK_TOKEN=token,
        RELITIGATE_SLACK_BASE_URL=slack.base_url,
        RELITIGATE_DEBUG="1" if debug else "0",
        PREFECT_HOME=str(home / "prefect"),
    )
    return subprocess.run(
        [sys.executable, "-m", "relitigate", "notices", "deliver"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def notice_states(url: str) -> dict[int, tuple[str, int]]:
    """``id -> (status, attempts)`` of every notice."""
    return {
        row["id"]: (str(row["status"]), int(row["attempts"]))
        for row in dump_database(url)["notices"]
    }


def posted_notice_ids(slack: SlackServer) -> list[str]:
    """The notice reference in each message Slack accepted."""
    return [m.metadata["event_payload"]["notice_id"] for m in slack.state.messages if m.metadata]


def test_a_refused_token_then_the_right_one_delivers_every_notice_exactly_once(
    migrated_url: str, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    good, rotated = new_token(), new_token()
    ids = fill_outbox(session_factory)
    with workspace(good) as slack:
        refused = deliver_cli(migrated_url, slack, rotated, tmp_path)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        [line] = refused.stderr.strip().splitlines()
        assert line.startswith("relitigate: error: Slack refused the bot token (invalid_auth")
        assert "RELITIGATE_SLACK_TOKEN" in line and "stays pending" in line
        assert notice_states(migrated_url) == {i: ("pending", 0) for i in ids}
        assert slack.state.messages == []
        assert len(slack.calls) == 1  # stopped at once

        sent = deliver_cli(migrated_url, slack, good, tmp_path)
        assert sent.returncode == 0, sent.stdout + sent.stderr
        assert f"sent {len(ids)}, failed 0, still pending 0" in sent.stdout
        assert notice_states(migrated_url) == {i: ("sent", 1) for i in ids}
        refs = posted_notice_ids(slack)
        assert len(refs) == len(ids) == len(set(refs))

        again = deliver_cli(migrated_url, slack, good, tmp_path)
        assert again.returncode == 0 and "sent 0, failed 0, still pending 0" in again.stdout
        assert len(slack.state.messages) == len(ids)


def test_a_slack_server_that_echoes_the_token_gets_it_nowhere(
    migrated_url: str, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    good, rotated = new_token(), new_token("rotated-")  # the second is not token-shaped
    ids = fill_outbox(session_factory)
    with workspace(good) as slack:
        slack.echo_token = True
        refused = deliver_cli(migrated_url, slack, rotated, tmp_path, debug=True)
        slack.script("users.lookupByEmail", Fail(error="users_not_found"))
        slack.script("chat.postMessage", None, Fail(error="channel_not_found"), Fail(status=500))
        mixed = deliver_cli(migrated_url, slack, good, tmp_path, debug=True)
    assert refused.returncode == 2 and mixed.returncode == 1
    registry = repr(dump_database(migrated_url))
    assert "channel_not_found" in registry and "internal_error" in registry  # rows were written
    texts = {
        "refused pass output": refused.stdout + refused.stderr,
        "second pass output": mixed.stdout + mixed.stderr,
        "registry": registry,
    }
    for where, text in texts.items():
        for token in (good, rotated):
            assert token not in text, f"a token leaked into the {where}"
            assert token[-12:] not in text, f"part of a token leaked into the {where}"
    assert len(ids) == 4


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


def test_the_flow_reads_the_token_block_from_async_code_and_never_logs_it(
    harness: None,
    migrated_url: str,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import asyncio
    import gc
    import warnings

    from prefect.blocks.system import Secret
    from prefect.client.orchestration import get_client
    from prefect.logging.handlers import APILogWorker

    from flows.notices import deliver_notices

    good, rotated = new_token(), new_token()
    block = f"slack-token-{secrets.token_hex(4)}"
    ids = fill_outbox(session_factory)
    for name in ("RELITIGATE_SLACK_TOKEN", "RELITIGATE_SLACK_PLATFORM_CHANNEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RELITIGATE_DATABASE_URL", migrated_url)
    monkeypatch.setenv("RELITIGATE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RELITIGATE_SLACK_TOKEN_BLOCK", block)

    async def read_logs() -> str:
        async with get_client() as client:
            return "\n".join(log.message for log in await client.read_logs())

    with workspace(good) as slack, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        monkeypatch.setenv("RELITIGATE_SLACK_BASE_URL", slack.base_url)
        slack.echo_token = True
        Secret(value=rotated).save(block, overwrite=True)
        refused: dict[str, Any] = asyncio.run(deliver_notices())
        states_after_refusal = notice_states(migrated_url)
        Secret(value=good).save(block, overwrite=True)
        sent: dict[str, Any] = asyncio.run(deliver_notices())
        APILogWorker.drain_all(timeout=10)  # logs reach Prefect's API in batches
        logs = asyncio.run(read_logs())
        gc.collect()
        refs = posted_notice_ids(slack)

    assert refused["stopped"] == 1 and refused["failed"] == 0
    assert refused["pending"] == len(ids)
    assert states_after_refusal == {i: ("pending", 0) for i in ids}
    assert sent["sent"] == len(ids) and "stopped" not in sent
    assert len(refs) == len(ids) == len(set(refs))
    assert "notice delivery stopped: Slack refused the bot token (invalid_auth" in logs
    assert f"Prefect Secret block {block!r}" in logs  # names the setting, not the value
    assert good not in logs and rotated not in logs
    assert not [w for w in caught if "never awaited" in str(w.message)]
