"""The progress model: when a run's updates are worth a line, and what the line says."""

from __future__ import annotations

from decimal import Decimal

from tasks.evaluation.progress import ProgressLines, progress_line
from tasks.evaluation.types import ProgressUpdate


def update(done: int, total: int | None = 100) -> ProgressUpdate:
    return ProgressUpdate(
        candidate="ft",
        done=done,
        total=total,
        passed=done - 1,
        errors=1,
        cost_usd=Decimal("0.012345"),
    )


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_line_at_the_first_item_each_tenth_and_the_last() -> None:
    lines: list[str] = []
    progress = ProgressLines(lines.append, every_s=3600, clock=Clock())
    for done in range(1, 101):
        progress(update(done))
    assert len(lines) == 11  # 1, then 10, 20, ..., 100
    assert lines[0].startswith("ft: 1/100 items, 0 passed, 1 errors, $0.0123 so far")
    assert lines[-1].startswith("ft: 100/100 items, 99 passed, 1 errors, $0.0123 so far")


def test_silence_is_broken_every_every_s_and_the_eta_follows_the_rate() -> None:
    lines: list[str] = []
    clock = Clock()
    progress = ProgressLines(lines.append, label="w/ft", every_s=5, clock=clock)
    for done in range(1, 10):  # within the first tenth of 1000 items, one item a second
        clock.now = float(done)
        progress(update(done, total=1000))
    assert [line.split(":")[1].split(" items")[0] for line in lines] == [" 1/1000", " 6/1000"]
    assert lines[0].startswith("w/ft: ") and lines[1].endswith("ETA 994 s")


def test_an_unknown_total_never_claims_an_eta() -> None:
    assert progress_line(update(3, total=None), eta_s=None) == (
        "ft: 3/? items, 2 passed, 1 errors, $0.0123 so far"
    )
