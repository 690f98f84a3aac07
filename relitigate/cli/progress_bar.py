"""The CLI's view of a run's progress: a rich bar per candidate (items, cost, errors, ETA).

It hears the same :class:`~tasks.evaluation.types.ProgressUpdate` s as the log lines of
:mod:`tasks.evaluation.progress`; rich throttles its own redraws, so no I/O happens per item.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from tasks.evaluation.types import ProgressUpdate


class ProgressBars:
    """One bar per candidate, added at its first update.

    Example::

        with ProgressBars(console) as bars:
            await run_benchmark(ctx, workload, candidate, quarter, progress=bars)
    """

    def __init__(self, console: Console | None = None, **progress_kwargs: Any) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("${task.fields[cost]}  errors {task.fields[errors]}"),
            TimeRemainingColumn(),
            console=console,
            **progress_kwargs,
        )
        self._bars: dict[str, TaskID] = {}

    def __call__(self, update: ProgressUpdate) -> None:
        bar = self._bars.get(update.candidate)
        if bar is None:
            bar = self._progress.add_task(update.candidate, total=update.total, cost="0", errors=0)
            self._bars[update.candidate] = bar
        self._progress.update(
            bar,
            completed=update.done,
            total=update.total,
            cost=f"{update.cost_usd:.4f}",
            errors=update.errors,
        )

    def __enter__(self) -> ProgressBars:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()
