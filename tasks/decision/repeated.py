"""Repeated testing: what a quarterly rule does over a fine-tune's whole useful life.

Each quarter's erosion test wrongly retires a fine-tune that sits exactly at the bar with
probability at most ``alpha / 2`` (2.5% by default). Asked every quarter, the chance of at
least one wrong ``retire`` over ``q`` quarters is at most ``1 - (1 - alpha / 2) ** q`` when
quarters are independent; re-using the same eval set makes quarters agree with each other,
which can only lower it toward the single-quarter figure. The engine states the figure and
does not hold a ``retire`` back for confirmation (docs/statistics.md gives the numbers
behind that choice).
"""

from __future__ import annotations

from dataclasses import dataclass

from tasks.decision.trend import USEFUL_LIFE_QUARTERS


@dataclass(frozen=True, slots=True)
class RepeatedTesting:
    """The chance that a fine-tune exactly at the bar is retired at least once."""

    per_quarter: float
    """At most this in any one quarter (the erosion test's one-sided level)."""
    over_life: tuple[tuple[int, float], ...]
    """(quarters, chance of at least one retire over that many quarters), upper bounds."""
    confirmation: bool
    """Whether a ``retire`` waits for a second agreeing quarter (the engine: no)."""

    def sentence(self) -> str:
        """The figures in one sentence for the memo."""
        spans = " and ".join(f"{100 * p:.1f}% over {q} quarters" for q, p in self.over_life)
        return (
            f"a fine-tune exactly at the bar is retired in a given quarter with probability "
            f"at most {100 * self.per_quarter:.1f}%; asked every quarter of its expected life, "
            f"at least once with probability at most {spans} (independent quarters; the same "
            "eval set each quarter makes quarters agree, which lowers it). A retire takes "
            "effect the quarter it is found, without waiting for confirmation"
        )


def repeated_testing(alpha: float) -> RepeatedTesting:
    """The lifetime figures for a quarterly erosion test at one-sided level ``alpha / 2``."""
    per_quarter = alpha / 2.0
    return RepeatedTesting(
        per_quarter=per_quarter,
        over_life=tuple((q, 1.0 - (1.0 - per_quarter) ** q) for q in USEFUL_LIFE_QUARTERS),
        confirmation=False,
    )
