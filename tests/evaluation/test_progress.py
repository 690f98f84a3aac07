"""Progress callbacks: the periodic logger and the rich bar."""

from __future__ import annotations

import io
import logging
from decimal import Decimal

import pytest
from rich.console import Console

from tasks.evaluation.progress import LoggingProgress, RichProgress
from tasks.evaluation.types import ProgressUpdate


def update(done: int, total: int | None = 10) -> ProgressUpdate:
    return ProgressUpdate(
        candidate="ft",
        done=done,
        total=total,
        passed=done - 1,
        errors=1,
        cost_usd=Decimal("0.012345"),
    )


def test_logging_progress_throttles_and_logs_the_last_item(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    progress = LoggingProgress(logging.getLogger("bench"), every_s=3600)
    for done in range(1, 11):
        progress(update(done))
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2  # the first, then the last (throttled in between)
    assert lines[-1].startswith("ft: 10/10 items, 9 passed, 1 errors, $0.0123 so far")


def test_rich_progress_shows_items_cost_and_errors() -> None:
    out = io.StringIO()
    with RichProgress(console=Console(file=out, width=120, force_terminal=False)) as progress:
        for done in range(1, 11):
            progress(update(done))
    text = out.getvalue()
    assert "10/10" in text and "$0.0123" in text and "errors 1" in text
