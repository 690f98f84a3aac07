"""A run's progress as people read it: when to say something, and what to say.

The engine calls a :class:`~tasks.evaluation.types.ProgressCallback` after every item.
:class:`ProgressLines` is the one progress model behind every view that prints lines: it
decides when an update is worth a line (the first, each tenth of the run, the last, and at
least every ``every_s`` seconds in between) and words it, then hands the line to ``emit``.
The task layer's sink emits to the Prefect run logger (:mod:`tasks.progress_log`); the
CLI's bar (:mod:`relitigate.cli.progress_bar`) draws the same updates with rich. Nothing here
imports rich, Prefect or logging.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from tasks.evaluation.types import ProgressUpdate

STEPS = 10
"""A line at each tenth of the run."""


def progress_line(update: ProgressUpdate, *, label: str | None = None, eta_s: float | None) -> str:
    """``label: done/total items, passed, errors, $cost so far[, ETA n s]``."""
    total = "?" if update.total is None else str(update.total)
    eta = "" if eta_s is None else f", ETA {eta_s:.0f} s"
    return (
        f"{label or update.candidate}: {update.done}/{total} items, {update.passed} passed, "
        f"{update.errors} errors, ${update.cost_usd:.4f} so far{eta}"
    )


class ProgressLines:
    """Turns a run's updates into a few progress lines, each handed to ``emit``.

    Args:
        emit: Called with each line (a logger's ``info``, ``print``).
        label: Names the run in each line (default: the update's candidate).
        every_s: The longest silence between two lines while items finish.
        clock: Seconds, monotonic (tests pass their own).
    """

    def __init__(
        self,
        emit: Callable[[str], None],
        *,
        label: str | None = None,
        every_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.emit, self.label, self.every_s, self.clock = emit, label, every_s, clock
        self._started = clock()
        self._last = -math.inf  # the first update always speaks, however young the clock
        self._step = -1

    def __call__(self, update: ProgressUpdate) -> None:
        now = self.clock()
        step = STEPS * update.done // update.total if update.total else 0
        last = update.total is not None and update.done >= update.total
        if not last and step <= self._step and now - self._last < self.every_s:
            return
        self._step, self._last = max(step, self._step), now
        self.emit(progress_line(update, label=self.label, eta_s=self._eta(update, now)))

    def _eta(self, update: ProgressUpdate, now: float) -> float | None:
        rate = update.done / max(now - self._started, 1e-9)
        if update.total is None or rate <= 0:
            return None
        return max(update.total - update.done, 0) / rate
