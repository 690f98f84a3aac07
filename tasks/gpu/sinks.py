"""Where a runner hands each item's result: the same kind of sink the API runner takes."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

from tasks.evaluation.types import ItemResult

ResultSink = Callable[[ItemResult], Awaitable[None] | None]
"""Receives one result as soon as it is scored (the task checkpoints it to the registry)."""


async def emit(sink: ResultSink, result: ItemResult) -> None:
    """Hand ``result`` to ``sink``, awaiting it when it is a coroutine function."""
    outcome = sink(result)
    if inspect.isawaitable(outcome):
        await outcome
