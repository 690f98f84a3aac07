"""Where secrets come from: the environment or settings, else a Prefect Secret block.

This is the one module that reads Prefect Secret blocks: provider API keys for the
evaluation engine and the Slack bot token for the notify engine, neither of which imports
Prefect; they receive the values read here.

Provider keys. A candidate (or an LLM judge) names its key, never the key itself:
``api_key_env: ANTHROPIC_API_KEY``. :func:`credentials_for` reads the process environment
first. A name the environment lacks is then looked up as the Prefect Secret block of the
same name in block form (lower case, ``_`` as ``-``: ``anthropic-api-key``), so that workers
need no keys in their environment; that lookup happens only where a Prefect API is already
at hand (inside a flow or task run, or with ``PREFECT_API_URL`` set), because loading a
block elsewhere would start Prefect's temporary server just to learn the block is missing.

The result is a plain mapping handed to the engine's preflight, which raises the named
missing-credentials error for any name still absent. Keys are never logged or stored: each
value found is registered with :mod:`tasks.redaction` as it is read, so every text the
process logs, raises or stores is scrubbed of it (a provider that echoes the key in an
error body included).

The Slack bot token. :func:`load_slack_token` returns the token set in settings
(``RELITIGATE_SLACK_TOKEN``), else the one in the Secret block that
``RELITIGATE_SLACK_TOKEN_BLOCK`` names; a block that cannot be read is a
:class:`~tasks.notify.errors.NoticeError` naming the block.

Prefect 3's ``Block.load`` returns a coroutine when it believes it runs in async code (an
async flow or task run, even from a worker thread that inherited the run's context), so the
synchronous paths here ask for the synchronous implementation explicitly, and async code has
:func:`acredentials_for` and :func:`aload_slack_token`, which await ``Secret.aload``.
Prefect is imported only when a block is actually read.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, TypeVar

from tasks.redaction import register_secret

if TYPE_CHECKING:
    from pydantic import SecretStr

    from tasks.notify.token import SlackToken

BlockLoader = Callable[[str], str | None]
"""Loads a Secret block's value by block name; None when there is no such block."""
AsyncBlockLoader = Callable[[str], Awaitable[str | None]]
""":data:`BlockLoader` for async code."""

LoaderT = TypeVar("LoaderT", BlockLoader, AsyncBlockLoader)

_BLOCK_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def block_name(variable: str) -> str:
    """The Secret block name looked up for an environment variable name."""
    return variable.strip().lower().replace("_", "-")


def credentials_for(
    names: Iterable[str],
    *,
    environ: Mapping[str, str] | None = None,
    load_block: BlockLoader | None = None,
) -> dict[str, str]:
    """The value of each of ``names`` that the environment or a Secret block holds.

    Args:
        names: variable names (``api_key_env`` of candidates and judges).
        environ: the environment; default ``os.environ``.
        load_block: block loader; default :func:`load_secret_block` when a Prefect API is at
            hand, else none (environment only).
    """
    env = os.environ if environ is None else environ
    loader = load_block if load_block is not None else _default_loader(load_secret_block)
    found: dict[str, str] = {}
    for name in _distinct(names):
        value = env.get(name) or None
        if value is None and loader is not None and _BLOCK_NAME.match(block_name(name)):
            value = loader(block_name(name)) or None
        if value is not None:
            found[name] = _registered(value)
    return found


async def acredentials_for(
    names: Iterable[str],
    *,
    environ: Mapping[str, str] | None = None,
    load_block: AsyncBlockLoader | None = None,
) -> dict[str, str]:
    """:func:`credentials_for` for async code: Secret blocks are read with ``Secret.aload``.

    Args:
        names: variable names (``api_key_env`` of candidates and judges).
        environ: the environment; default ``os.environ``.
        load_block: async block loader; default :func:`aload_secret_block` when a Prefect
            API is at hand, else none (environment only).
    """
    env = os.environ if environ is None else environ
    loader = load_block if load_block is not None else _default_loader(aload_secret_block)
    found: dict[str, str] = {}
    for name in _distinct(names):
        value = env.get(name) or None
        if value is None and loader is not None and _BLOCK_NAME.match(block_name(name)):
            value = await loader(block_name(name)) or None
        if value is not None:
            found[name] = _registered(value)
    return found


def load_secret_block(name: str) -> str | None:
    """The value of Prefect Secret block ``name``, or None when it does not exist.

    Synchronous on any thread, inside a flow run or not (a worker thread of an async task
    included); from code running on an event loop, await :func:`aload_secret_block`.
    """
    try:
        return _read_block(name)
    except ValueError:  # Prefect's "Unable to find block document named ..."
        return None


async def aload_secret_block(name: str) -> str | None:
    """The value of Prefect Secret block ``name``, or None when it does not exist (async)."""
    try:
        return await _aread_block(name)
    except ValueError:
        return None


def load_slack_token(
    *, token: SecretStr | None, secret_block: str | None = None
) -> SlackToken | None:
    """The Slack token from settings, else from Secret block ``secret_block``, else None.

    Synchronous: call from the CLI or a worker thread, never on an event loop.

    Raises:
        NoticeError: The block could not be loaded (the message names the block only).
    """
    from tasks.notify.token import block_error, block_token, settings_token

    found = settings_token(token)
    if found is not None or not secret_block:
        return found
    try:
        value = _read_block(secret_block)
    except Exception as exc:
        raise block_error(secret_block, exc) from None
    return block_token(secret_block, value)


async def aload_slack_token(
    *, token: SecretStr | None, secret_block: str | None = None
) -> SlackToken | None:
    """:func:`load_slack_token` for async code (a flow or task run): awaits ``Secret.aload``."""
    from tasks.notify.token import block_error, block_token, settings_token

    found = settings_token(token)
    if found is not None or not secret_block:
        return found
    try:
        value = await _aread_block(secret_block)
    except Exception as exc:
        raise block_error(secret_block, exc) from None
    return block_token(secret_block, value)


def _read_block(name: str) -> str | None:
    from prefect.blocks.system import Secret

    return _block_value(Secret.load(name, _sync=True))  # type: ignore[call-arg]


async def _aread_block(name: str) -> str | None:
    from prefect.blocks.system import Secret

    return _block_value(await Secret.aload(name))


def _block_value(block: object) -> str | None:
    getter = getattr(block, "get", None)
    value = getter() if callable(getter) else None
    return _registered(str(value)) if value else None


def _registered(value: str) -> str:
    register_secret(value)
    return value


def _distinct(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(n for n in names if n))


def _default_loader(loader: LoaderT) -> LoaderT | None:
    if os.environ.get("PREFECT_API_URL"):
        return loader
    if "prefect.context" not in sys.modules:  # no flow or task run in this process
        return None
    from prefect.context import FlowRunContext, TaskRunContext

    if FlowRunContext.get() is not None or TaskRunContext.get() is not None:
        return loader
    return None
