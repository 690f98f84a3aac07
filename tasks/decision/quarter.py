"""Calendar quarters: the ``YYYYQn`` strings that the registry stores, as a value type."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import overload

from tasks.decision.errors import InvalidQuarterError

_PATTERN = re.compile(r"^(\d{4})Q([1-4])$")


@dataclass(frozen=True, order=True, slots=True)
class Quarter:
    """One calendar quarter. Ordered; ``q + 1`` is the next quarter, ``q2 - q1`` a count."""

    year: int
    number: int
    """1..4."""

    def __post_init__(self) -> None:
        if not 1 <= self.number <= 4 or not 1 <= self.year <= 9999:
            raise InvalidQuarterError(f"{self.year}Q{self.number}")

    @classmethod
    def parse(cls, text: str | Quarter) -> Quarter:
        """Parse ``'2026Q4'``; raises :class:`InvalidQuarterError` on anything else."""
        if isinstance(text, Quarter):
            return text
        match = _PATTERN.match(text.strip()) if isinstance(text, str) else None
        if match is None:
            raise InvalidQuarterError(text)
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def from_date(cls, day: date) -> Quarter:
        """The quarter that contains ``day``."""
        return cls(day.year, (day.month - 1) // 3 + 1)

    @classmethod
    def from_ordinal(cls, ordinal: int) -> Quarter:
        """Inverse of :attr:`ordinal`."""
        return cls(ordinal // 4, ordinal % 4 + 1)

    @property
    def ordinal(self) -> int:
        """Quarters since year 0: consecutive quarters differ by exactly one."""
        return self.year * 4 + self.number - 1

    def __str__(self) -> str:
        return f"{self.year}Q{self.number}"

    def __add__(self, quarters: int) -> Quarter:
        return Quarter.from_ordinal(self.ordinal + quarters)

    @overload
    def __sub__(self, other: Quarter) -> int: ...
    @overload
    def __sub__(self, other: int) -> Quarter: ...
    def __sub__(self, other: int | Quarter) -> int | Quarter:
        if isinstance(other, Quarter):
            return self.ordinal - other.ordinal
        return Quarter.from_ordinal(self.ordinal - other)

    def next(self) -> Quarter:
        """The following quarter."""
        return self + 1

    def first_day(self) -> date:
        """The first day of the quarter (1 Jan, 1 Apr, 1 Jul or 1 Oct)."""
        return date(self.year, 3 * (self.number - 1) + 1, 1)


def next_review_date(quarter: Quarter, today: date) -> date:
    """First day of the quarter after the later of ``quarter`` and today's quarter.

    A decision for 2026Q4 taken on 2026-11-25 is reviewed on 2027-01-01; a late re-run of an
    old quarter is reviewed at the start of the quarter after today.
    """
    latest = max(quarter, Quarter.from_date(today))
    return latest.next().first_day()
