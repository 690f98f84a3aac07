"""The Slack adapter against the loopback server: retries and error classification."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest

from tasks.notify.errors import SlackCredentialError, SlackPermanentError, SlackTransientError
from tasks.notify.slack import NOTICE_EVENT_TYPE
from tests.notify.slack_server import Fail, SlackServer


def dead_url() -> str:
    """A loopback URL where nothing listens (connection refused)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/api/"


def test_lookup_open_and_post_with_metadata(slack: SlackServer, client: Any) -> None:
    user = client.lookup_user_id("Ana@Example.com")
    dm = client.open_dm(user)
    posted = client.post_message(dm, text="hi", blocks=[{"type": "divider"}], notice_ref="7-1")
    assert (user, dm, posted.channel_id) == ("U0ANA", "D0ANA", "D0ANA")
    [message] = slack.messages_in("D0ANA")
    assert message.ts == posted.ts and message.blocks == [{"type": "divider"}]
    assert message.metadata == {
        "event_type": NOTICE_EVENT_TYPE,
        "event_payload": {"notice_id": "7-1"},
    }
    assert all(c.authorized for c in slack.calls)
    assert client.find_notice("D0ANA", notice_ref="7-1") == posted
    assert client.find_notice("D0ANA", notice_ref="8-1") is None


def test_rate_limit_is_retried_after_retry_after(slack: SlackServer, client: Any) -> None:
    slack.script("chat.postMessage", Fail(status=429, retry_after=1))
    started = time.monotonic()
    client.post_message("C0TRIAGE", text="hi")
    assert time.monotonic() - started >= 1.0
    assert len(slack.calls_to("chat.postMessage")) == 2
    assert len(slack.messages_in("C0TRIAGE")) == 1


def test_rate_limit_that_persists_is_transient_and_posts_nothing(
    slack: SlackServer, client_for: Any
) -> None:
    client = client_for(slack.base_url, max_retries=1)
    slack.script("chat.postMessage", *[Fail(status=429, retry_after=0)] * 2)
    with pytest.raises(SlackTransientError) as err:
        client.post_message("C0TRIAGE", text="hi")
    assert err.value.code == "ratelimited" and not err.value.maybe_delivered
    assert slack.messages_in("C0TRIAGE") == []


def test_reads_retry_server_errors(slack: SlackServer, client: Any) -> None:
    slack.script("users.lookupByEmail", Fail(status=500), Fail(status=503))
    assert client.lookup_user_id("ana@example.com") == "U0ANA"
    assert len(slack.calls_to("users.lookupByEmail")) == 3


def test_a_5xx_on_post_is_not_retried_blindly(slack: SlackServer, client: Any) -> None:
    slack.script("chat.postMessage", Fail(status=500, accept=True))
    with pytest.raises(SlackTransientError) as err:
        client.post_message("C0TRIAGE", text="hi", notice_ref="1-1")
    assert err.value.maybe_delivered
    assert len(slack.calls_to("chat.postMessage")) == 1
    assert len(slack.messages_in("C0TRIAGE")) == 1


def test_a_dropped_connection_on_post_may_have_delivered(slack: SlackServer, client: Any) -> None:
    slack.script("chat.postMessage", Fail(accept=True, drop=True))
    with pytest.raises(SlackTransientError) as err:
        client.post_message("C0TRIAGE", text="hi")
    assert err.value.maybe_delivered
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_connection_refused_is_transient_and_certainly_not_delivered(client_for: Any) -> None:
    client = client_for(dead_url())
    with pytest.raises(SlackTransientError) as err:
        client.post_message("C0TRIAGE", text="hi")
    assert err.value.code == "connection_refused" and not err.value.maybe_delivered
    with pytest.raises(SlackTransientError):
        client.lookup_user_id("ana@example.com")


@pytest.mark.parametrize(
    ("setup", "call", "code"),
    [
        (lambda s: None, lambda c: c.lookup_user_id("nobody@example.com"), "users_not_found"),
        (lambda s: None, lambda c: c.post_message("C0NOPE", text="x"), "channel_not_found"),
        (
            lambda s: s.add_channel("C0OUT", member=False),
            lambda c: c.post_message("C0OUT", text="x"),
            "not_in_channel",
        ),
        (
            lambda s: (s.add_channel("C0OLD"), s.state.archived.add("C0OLD")),
            lambda c: c.post_message("C0OLD", text="x"),
            "is_archived",
        ),
        (
            lambda s: s.add_user("gone@example.com", "U0GONE", inactive=True),
            lambda c: c.open_dm("U0GONE"),
            "user_disabled",
        ),
        (  # an optional scope: the caller copes without it
            lambda s: s.script("conversations.history", Fail(error="missing_scope")),
            lambda c: c.find_notice("C0TRIAGE", notice_ref="1-1"),
            "missing_scope",
        ),
    ],
)
def test_permanent_errors(
    slack: SlackServer, client: Any, setup: Any, call: Any, code: str
) -> None:
    setup(slack)
    with pytest.raises(SlackPermanentError) as err:
        call(client)
    assert err.value.code == code and not err.value.transient
    assert code in str(err.value) and err.value.exit_code == 2


def test_wrong_token_is_a_credential_error_naming_the_setting(
    slack: SlackServer, client_for: Any
) -> None:
    client = client_for(slack.base_url, token="xoxb-wrong")
    with pytest.raises(SlackCredentialError) as err:
        client.post_message("C0TRIAGE", text="x")
    assert err.value.code == "invalid_auth" and err.value.exit_code == 2
    assert "RELITIGATE_SLACK_TOKEN" in str(err.value) and "\n" not in str(err.value)
    assert err.value.__cause__ is None and err.value.__suppress_context__
    assert repr(client) == "SlackClient(token=**********)"
    block = client_for(slack.base_url, token="xoxb-wrong", token_setting="block 'slack'")
    with pytest.raises(SlackCredentialError, match="block 'slack'"):
        block.lookup_user_id("ana@example.com")


@pytest.mark.parametrize(
    ("method", "call", "code", "fix"),
    [
        ("users.lookupByEmail", lambda c: c.lookup_user_id("a@b.c"), "token_revoked", "new"),
        ("conversations.open", lambda c: c.open_dm("U0ANA"), "account_inactive", "new"),
        ("chat.postMessage", lambda c: c.post_message("C0", text="x"), "not_authed", "set"),
        (
            "chat.postMessage",
            lambda c: c.post_message("C0", text="x"),
            "missing_scope",
            "chat:write",
        ),
        ("conversations.open", lambda c: c.open_dm("U0ANA"), "missing_scope", "im:write"),
        ("conversations.list", lambda c: c.channel_id("#triage"), "invalid_auth", "valid"),
        (
            "conversations.history",
            lambda c: c.find_notice("C0", notice_ref="1"),
            "token_expired",
            "new",
        ),
    ],
)
def test_token_level_errors_are_credential_errors(
    slack: SlackServer, client: Any, method: str, call: Any, code: str, fix: str
) -> None:
    slack.script(method, Fail(error=code))
    with pytest.raises(SlackCredentialError) as err:
        call(client)
    assert (err.value.method, err.value.code) == (method, code)
    assert fix in str(err.value) and "RELITIGATE_SLACK_TOKEN" in str(err.value)
    assert "stays pending" in str(err.value)


def test_a_401_without_a_slack_body_is_a_credential_error(slack: SlackServer, client: Any) -> None:
    slack.script("chat.postMessage", Fail(status=401, error="Unauthorized"))
    with pytest.raises(SlackCredentialError) as err:
        client.post_message("C0TRIAGE", text="x")
    assert err.value.code == "invalid_auth"


def test_an_echoed_token_is_cut_from_the_error(
    slack: SlackServer, client_for: Any, canary: str
) -> None:
    """The server repeats the Authorization header inside its ``error`` field."""
    slack.echo_token = True
    client = client_for(slack.base_url)
    slack.script("chat.postMessage", Fail(error="channel_not_found"))
    with pytest.raises(SlackPermanentError) as err:
        client.post_message("C0TRIAGE", text="x")
    assert err.value.code == "channel_not_found"
    assert canary not in repr(err.value) and err.value.__cause__ is None
