"""Where provider API keys come from: the environment, else a Prefect Secret block.

A candidate (or an LLM judge) names its key, never the key itself:
``api_key_env: ANTHROPIC_API_KEY``. :func:`credentials_for` reads the process environment
first. A name the environment lacks is then looked up as the Prefect Secret block of the
same name in block form (lower case, ``_`` as ``-``: ``anthropic-api-key``), so that workers
need no keys in their environment; that lookup happens only where a Prefect API is already
at hand (inside a flow or task run, or with ``PREFECT_API_URL`` set), because loading a
block elsewhere would start Prefect's temporary server just to learn the block is missing.

The result is a plain mapping handed to the engine's preflight, which raises the named
missing-credentials error for any name still absent. Keys are never logged or stored.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping

BlockLoader = Callable[[str], str | None]
"""Loads a Secret block's value by block name; None when there is no such block."""

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
    loader = load_block if load_block is not None else _default_loader()
    found: dict[str, str] = {}
    for name in dict.fromkeys(n for n in names if n):
        value = env.get(name) or None
        if value is None and loader is not None and _BLOCK_NAME.match(block_name(name)):
            value = loader(block_name(name)) or None
        if value is not None:
            found[name] = value
    return found


def load_secret_block(name: str) -> str | None:
    """The value of Prefect Secret block ``name``, or None when it does not exist.

    Call from synchronous code or a worker thread (Prefect's sync API).
    """
    from prefect.blocks.system import Secret

    try:
        block = Secret.load(name)
    except ValueError:  # Prefect's "Unable to find block document named ..."
        return None
    value = block.get()  # type: ignore[union-attr]
    return str(value) if value else None


def _default_loader() -> BlockLoader | None:
    if os.environ.get("PREFECT_API_URL"):
        return load_secret_block
    if "prefect.context" not in sys.modules:  # no flow or task run in this process
        return None
    from prefect.context import FlowRunContext, TaskRunContext

    if FlowRunContext.get() is not None or TaskRunContext.get() is not None:
        return load_secret_block
    return None
