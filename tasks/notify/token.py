"""The Slack bot token and the setting it came from.

The token comes from settings (``RELITIGATE_SLACK_TOKEN``) or a Prefect Secret block
(``RELITIGATE_SLACK_TOKEN_BLOCK``). Reading the block is the task layer's job
(:func:`tasks.credentials.load_slack_token`, awaited in async code as
:func:`tasks.credentials.aload_slack_token`); this module turns what was read into a
:class:`SlackToken`, so the notify engine never imports Prefect. Every token made here is
registered with :mod:`tasks.redaction`, so no log, row or error shows it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr

from tasks.notify.errors import DEFAULT_TOKEN_SETTING, NoticeError
from tasks.redaction import register_secret


@dataclass(frozen=True)
class SlackToken:
    """A token and the setting it came from.

    Attributes:
        value: The token.
        setting: Where it came from, for messages that say what to fix
            (``RELITIGATE_SLACK_TOKEN``, or ``Prefect Secret block 'name'
            (RELITIGATE_SLACK_TOKEN_BLOCK)``). Never the value.
    """

    value: SecretStr
    setting: str


def block_setting(block: str) -> str:
    """How a Secret block is named in messages."""
    return f"the Prefect Secret block {block!r} (RELITIGATE_SLACK_TOKEN_BLOCK)"


def settings_token(token: SecretStr | None) -> SlackToken | None:
    """The token set in settings, or None when it is unset or empty."""
    if token is None or not token.get_secret_value():
        return None
    register_secret(token)
    return SlackToken(token, DEFAULT_TOKEN_SETTING)


def block_token(block: str, value: str | None) -> SlackToken | None:
    """The token Secret block ``block`` holds (``value``), or None when it is empty."""
    if not value:
        return None
    secret = SecretStr(value)
    register_secret(secret)
    return SlackToken(secret, block_setting(block))


def block_error(block: str, exc: Exception) -> NoticeError:
    """The error for a Secret block that could not be read (names the block, not the value)."""
    return NoticeError(
        f"could not load the Slack token from Prefect Secret block {block!r} "
        f"({type(exc).__name__}); create it with `prefect block create secret` or set "
        "RELITIGATE_SLACK_TOKEN"
    )
