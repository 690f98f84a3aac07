"""Progress reporting for runs: a rich progress bar (CLI) and a periodic logger (Prefect).

Both are :class:`~tasks.evaluation.types.ProgressCallback` implementations that do no I/O
per item beyond what rich throttles itself; the logger writes at most every ``every_s``.
"""

from __future__ import annotations

import logging
import math
import time
from types import TracebackType
from typing import Any

from tasks.evaluation.types import ProgressUpdate


class RichProgress:
    """A rich progress bar per candidate: items done, cost so far, errors, ETA.

    Example::

        with RichProgress() as progress:
            summary = await run_candidate(spec, items, ..., progress=progress)
    """

    def __init__(self, **progress_kwargs: Any) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("${task.fields[cost]}"),
            TextColumn("errors {task.fields[errors]}"),
            TimeRemainingColumn(),
            **progress_kwargs,
        )
        self._tasks: dict[str, Any] = {}

    def __call__(self, update: ProgressUpdate) -> None:
        task = self._tasks.get(update.candidate)
        if task is None:
            task = self._progress.add_task(update.candidate, total=update.total, cost="0", errors=0)
            self._tasks[update.candidate] = task
        self._progress.update(
            task, completed=update.done, cost=f"{update.cost_usd:.4f}", errors=update.errors
        )

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()


class LoggingProgress:
    """Logs progress lines at most every ``every_s`` seconds (and at the last item).

    Hand it ``prefect.get_run_logger()`` inside a Prefect task, or any ``logging.Logger``.
    """

    def __init__(
        self, logger: logging.Logger | logging.LoggerAdapter[Any], *, every_s: float = 10.0
    ) -> None:
        self.logger, self.every_s = logger, every_s
        self._last = -math.inf  # the first update always logs, however young the clock
        self._started = time.monotonic()

    def __call__(self, update: ProgressUpdate) -> None:
        now = time.monotonic()
        last = update.total is not None and update.done >= update.total
        if not last and now - self._last < self.every_s:
            return
        self._last = now
        rate = update.done / max(now - self._started, 1e-9)
        eta = ""
        if update.total is not None and rate > 0:
            eta = f", ETA {max(update.total - update.done, 0) / rate:.0f} s"
        total = "?" if update.total is None else str(update.total)
        self.logger.info(
            "%s: %d/%s items, %d passed, %d errors, $%s so far%s",
            update.candidate,
            update.done,
            total,
            update.passed,
            update.errors,
            f"{update.cost_usd:.4f}",
            eta,
        )
