"""Progress lines in the run's log: the task layer's sink for :mod:`tasks.evaluation.progress`."""

from __future__ import annotations

import logging

from prefect import get_run_logger
from prefect.exceptions import MissingContextError

from tasks.evaluation.progress import ProgressLines

Log = logging.Logger | logging.LoggerAdapter[logging.Logger]


def run_logger() -> Log:
    """The flow or task run's logger; a plain logger outside Prefect (``relitigate bench``)."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("relitigate.benchmark")


def log_progress(label: str, *, every_s: float = 5.0) -> ProgressLines:
    """A progress callback that logs a line each tenth of the run (and at least every
    ``every_s`` seconds) to the run's logger."""
    log = run_logger()
    return ProgressLines(log.info, label=label, every_s=every_s)
