"""``relitigate listen`` and ``relitigate serve``'s listener, as a user starts them."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.notify.conftest import CANARY_TOKEN
from tests.notify.socket_server import InteractiveSlackServer, click, signed_post

APP_TOKEN = "xa" + "pp-1-CANARY-listen-app-token"
SECRET = "CANARY-listen-signing-secret"


def _as_if_started_with_ampersand() -> None:
    """A shell's ``cmd &`` starts the command with SIGINT ignored: Ctrl-C must still stop it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _env(tmp_path: Path, slack: InteractiveSlackServer) -> dict[str, str]:
    from registry.db import upgrade_to_head

    url = f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    upgrade_to_head(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RELITIGATE_", "PREFECT_"))}
    env.update(
        RELITIGATE_DATABASE_URL=url,
        RELITIGATE_DATA_DIR=str(tmp_path),
        RELITIGATE_SLACK_TOKEN=CANARY_TOKEN,
        RELITIGATE_SLACK_APP_TOKEN=APP_TOKEN,
        RELITIGATE_SLACK_SIGNING_SECRET=SECRET,
        RELITIGATE_SLACK_BASE_URL=slack.base_url,
    )
    return env


def test_listen_serves_socket_mode_and_the_signed_endpoint_until_interrupted(
    tmp_path: Path,
) -> None:
    with InteractiveSlackServer(CANARY_TOKEN, app_token=APP_TOKEN) as slack:
        proc = subprocess.Popen(
            [sys.executable, "-m", "relitigate", "listen", "--http", "0"],
            env=_env(tmp_path, slack), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, preexec_fn=_as_if_started_with_ampersand,
        )  # fmt: skip
        try:
            assert proc.stdout is not None
            lines = [proc.stdout.readline() for _ in range(3)]
            found = re.search(r"endpoint on (http://\S+)", "".join(lines))
            assert found, lines
            slack.wait_connected()
            payload = click("acknowledge", user="U0ANA", channel="D0ANA", ts="1.000001")
            assert signed_post(found.group(1), payload, secret="wrong") == 401
            # signed, but about no notice of this registry: accepted and ignored
            assert signed_post(found.group(1), payload, secret=SECRET) == 200
        finally:
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err[-2000:]
    assert "listener stopped" in out
    assert APP_TOKEN not in out + err and SECRET not in out + err and CANARY_TOKEN not in err


def test_serve_listens_over_socket_mode_when_an_app_token_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from relitigate.cli.serve_runner import _notice_listener

    with InteractiveSlackServer(CANARY_TOKEN, app_token=APP_TOKEN) as slack:
        for key, value in _env(tmp_path, slack).items():
            if key.startswith("RELITIGATE_"):
                monkeypatch.setenv(key, value)
        with _notice_listener():
            slack.wait_connected()
        monkeypatch.delenv("RELITIGATE_SLACK_APP_TOKEN")
        started = time.monotonic()
        with _notice_listener():  # no app token: nothing to start
            pass
        assert time.monotonic() - started < 5
    assert [c.authorized for c in slack.calls_to("apps.connections.open")] == [True]
