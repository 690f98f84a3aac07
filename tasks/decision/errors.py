"""Errors the decision engine raises when its inputs are unusable.

Exception tree::

    DecisionError                 base; exit_code = 2 (a user or the caller can fix the cause)
    ├── InvalidQuarterError       a quarter is not ``YYYYQn``
    ├── InvalidResultsError       one side's per-item arrays are malformed
    ├── MisalignedItemsError      the two sides were not run on the same eval items
    └── InvalidInputsError        policy, thresholds or history are inconsistent

Every message says what failed, the offending value and what to do next. The engine never
turns bad input into a verdict: a malformed input raises, a weak one gives ``inconclusive``.
"""

from __future__ import annotations


class DecisionError(Exception):
    """Base of every error the decision engine raises on purpose."""

    exit_code = 2


class InvalidQuarterError(DecisionError, ValueError):
    """A quarter string is not of the form ``YYYYQn`` (n in 1..4)."""

    def __init__(self, value: object) -> None:
        self.value = value
        super().__init__(
            f"invalid quarter {value!r}: write it as YYYYQn with n in 1..4, e.g. '2026Q4'"
        )


class InvalidResultsError(DecisionError, ValueError):
    """One candidate's per-item results cannot be used as given."""

    def __init__(self, *, candidate: str, problem: str) -> None:
        self.candidate, self.problem = candidate, problem
        super().__init__(
            f"results of candidate {candidate!r}: {problem}; fix the benchmark run's records "
            "(re-run the candidate if they are damaged)"
        )


class MisalignedItemsError(DecisionError, ValueError):
    """Two candidates were benchmarked on different eval items, so no paired comparison."""

    def __init__(self, *, fine_tune: str, other: str, missing: int, extra: int) -> None:
        self.fine_tune, self.other, self.missing, self.extra = fine_tune, other, missing, extra
        super().__init__(
            f"candidate {other!r} lacks {missing} item(s) that fine-tune {fine_tune!r} has and "
            f"has {extra} it lacks; benchmark both on the same eval-set version"
        )


class InvalidInputsError(DecisionError, ValueError):
    """The policy, thresholds or history handed to the engine are inconsistent."""

    def __init__(self, *, field: str, value: object, expected: str) -> None:
        self.field, self.value, self.expected = field, value, expected
        super().__init__(f"{field} = {value!r} is invalid: expected {expected}")
