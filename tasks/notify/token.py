"""The Slack bot token: from settings (``RELITIGATE_SLACK_TOKEN``), else a Prefect Secret block.

Prefect 3's ``Block.load`` dispatches on its caller: inside an async flow or task run (and in
a worker thread started from one, which inherits the run context) it returns a coroutine
instead of the block. :func:`load_token` therefore forces Prefect's synchronous path, for
the CLI and worker threads; async code awaits :func:`aload_token`. Prefect is imported only
when a block name is given and no token is set. Every token found is registered with
:mod:`tasks.redaction`, so no log, row or error shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


def load_token(*, token: SecretStr | None, secret_block: str | None = None) -> SlackToken | None:
    """The token from settings, else from Secret block ``secret_block``, else None.

    Synchronous: call from the CLI or a worker thread, never on an event loop.

    Raises:
        NoticeError: The block could not be loaded (the message names the block only).
    """
    found = _from_settings(token)
    if found is not None or not secret_block:
        return found
    from prefect.blocks.system import Secret

    try:
        block = Secret.load(secret_block, _sync=True)  # type: ignore[call-arg]
    except Exception as exc:
        raise _block_error(secret_block, exc) from None
    return _from_block(block, secret_block)


async def aload_token(
    *, token: SecretStr | None, secret_block: str | None = None
) -> SlackToken | None:
    """:func:`load_token` for async code (a flow or task run): awaits ``Secret.aload``."""
    found = _from_settings(token)
    if found is not None or not secret_block:
        return found
    from prefect.blocks.system import Secret

    try:
        block = await Secret.aload(secret_block)
    except Exception as exc:
        raise _block_error(secret_block, exc) from None
    return _from_block(block, secret_block)


def _from_settings(token: SecretStr | None) -> SlackToken | None:
    if token is None or not token.get_secret_value():
        return None
    register_secret(token)
    return SlackToken(token, DEFAULT_TOKEN_SETTING)


def _from_block(block: Any, name: str) -> SlackToken | None:
    value = block.get()
    if not value:
        return None
    secret = SecretStr(str(value))
    register_secret(secret)
    return SlackToken(secret, block_setting(name))


def _block_error(name: str, exc: Exception) -> NoticeError:
    return NoticeError(
        f"could not load the Slack token from Prefect Secret block {name!r} "
        f"({type(exc).__name__}); create it with `prefect block create secret` or set "
        "RELITIGATE_SLACK_TOKEN"
    )
