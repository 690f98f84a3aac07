"""Deprecations: buy alternatives and fine-tune routes that are going away. Pure.

A route's deprecation date comes from the workloads file (``deprecations.routes`` or a
catalog entry) or from litellm's price map; the caller hands the dates in. A date is in the
horizon when it falls on or before ``today + deprecation_horizon_days`` (a date already past
counts too). Then:

- **a buy alternative** in the horizon leaves the comparison (:func:`compared_buys`): a
  switch to a model that is going away is no switch. It is not benchmarked either (the
  quarter's plan leaves it out, so nothing is paid for it); the best remaining buy is
  compared, and the memo says which buy left and why. When every buy is deprecating, none
  leaves (there would be nothing to compare against) and the memo says so.
- **the fine-tune's serving route or its declared base model** in the horizon turns a
  ``keep`` into ``watch`` (:func:`with_deprecations`), with the date and what must happen
  before it; the watch notice follows the usual policy (``tasks/notify/policy.py``). A
  ``retire``, ``watch`` or ``inconclusive`` verdict stays, with the deprecation among its
  reasons and in its recommended action (so its notice says it). This is rule 9, applied
  after ``verdict.py``'s rules 1-8.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from tasks.decision.outcome import DecisionOutcome
from tasks.decision.types import DecisionInputs

DEPRECATION_RULE = 9
"""The rule number recorded when a deprecation turns ``keep`` into ``watch``."""
DEPRECATION_KEY = "deprecation"
"""The decision's reproducibility entry saying what goes away when rule 9 decided."""


@dataclass(frozen=True, slots=True)
class RouteDeprecation:
    """A route's deprecation date and where it comes from (``declared`` or ``litellm``)."""

    route: str
    on: date
    source: str


@dataclass(frozen=True, slots=True)
class DeprecationReview:
    """What the deprecations in the horizon mean for one decision."""

    dropped_buys: tuple[str, ...] = ()
    """Buy alternatives that leave the comparison."""
    fine_tune: tuple[RouteDeprecation, ...] = ()
    """The fine-tune's serving route and/or base model, when deprecating."""
    fine_tune_notes: tuple[str, ...] = ()
    """One sentence for each of ``fine_tune``, in the same order."""
    notes: tuple[str, ...] = ()
    """Sentences for the memo's reasons."""

    @property
    def flagged(self) -> bool:
        """Whether anything is deprecating."""
        return bool(self.dropped_buys or self.fine_tune or self.notes)


def in_horizon(when: date, *, today: date, horizon_days: int) -> bool:
    """Whether ``when`` falls on or before ``today + horizon_days``."""
    return when <= today + timedelta(days=horizon_days)


def _phrase(d: RouteDeprecation, today: date) -> str:
    tense = "was deprecated on" if d.on <= today else "is deprecated on"
    return f"{d.route} {tense} {d.on.isoformat()} ({d.source})"


def review_deprecations(
    buys: Sequence[tuple[str, str]],
    *,
    fine_tune_route: str,
    base_model: str | None,
    dates: Mapping[str, RouteDeprecation],
    today: date,
    horizon_days: int,
) -> DeprecationReview:
    """The deprecations in the horizon for a fine-tune and its buys.

    Args:
        buys: (name, route) of each buy alternative.
        fine_tune_route: the fine-tune's serving route.
        base_model: the fine-tune's declared base model route, if any.
        dates: deprecation dates by route.
        today: the decision's date.
        horizon_days: the workload's ``deprecation_horizon_days``.
    """

    def due(route: str | None) -> RouteDeprecation | None:
        d = dates.get(route) if route else None
        return (
            d
            if d is not None and in_horizon(d.on, today=today, horizon_days=horizon_days)
            else None
        )

    notes: list[str] = []
    going = [(name, d) for name, route in buys if (d := due(route)) is not None]
    dropped: tuple[str, ...] = ()
    if going and len(going) == len(buys):
        notes.append(
            "every buy alternative is deprecating ("
            + "; ".join(_phrase(d, today) for _, d in going)
            + "): compared anyway, since nothing else is declared; add a current model"
        )
    elif going:
        dropped = tuple(name for name, _ in going)
        for name, d in going:
            notes.append(
                f"buy alternative {name} left the comparison: {_phrase(d, today)}, within the "
                f"{horizon_days}-day deprecation horizon; the best remaining buy is compared"
            )
    fine_tune = tuple(d for route in (fine_tune_route, base_model) if (d := due(route)))
    fine_tune_notes = tuple(
        f"the fine-tune's {'base model' if d.route == base_model else 'serving route'} "
        f"{_phrase(d, today)}"
        for d in fine_tune
    )
    return DeprecationReview(
        dropped_buys=dropped,
        fine_tune=fine_tune,
        fine_tune_notes=fine_tune_notes,
        notes=(*notes, *fine_tune_notes),
    )


def compared_buys(names: Sequence[str], review: DeprecationReview) -> tuple[str, ...]:
    """The buy alternatives compared, and so benchmarked: ``names`` less those that leave."""
    return tuple(name for name in names if name not in review.dropped_buys)


def without_deprecated(inputs: DecisionInputs, review: DeprecationReview) -> DecisionInputs:
    """The inputs without the buys that leave the comparison."""
    kept = compared_buys([b.name for b in inputs.buys], review)
    if len(kept) == len(inputs.buys):
        return inputs
    return dataclasses.replace(inputs, buys=tuple(b for b in inputs.buys if b.name in kept))


def with_deprecations(outcome: DecisionOutcome, review: DeprecationReview) -> DecisionOutcome:
    """The outcome with the deprecation notes, and ``keep`` turned into ``watch`` when the
    fine-tune's route or base model is deprecating."""
    if not review.flagged:
        return outcome
    reasons = (*outcome.reasons, *review.notes)
    if not review.fine_tune:
        return dataclasses.replace(outcome, reasons=reasons)
    first, line = min(zip(review.fine_tune, review.fine_tune_notes, strict=True),
                      key=lambda pair: pair[0].on)  # fmt: skip
    if outcome.verdict != "keep":
        action = f"{outcome.recommended_action} Note: {_phrase(first, outcome.decided_on)}."
        return dataclasses.replace(outcome, reasons=reasons, recommended_action=action)
    action = (
        f"Keep {outcome.fine_tune.name} for now, but before {first.on.isoformat()} "
        f"({first.route} goes away) move it to a supported model: retrain it on a current "
        f"base model and re-host it, or switch to {outcome.buy.name} ({outcome.buy.route})."
    )
    return dataclasses.replace(
        outcome,
        verdict="watch",
        rule=DEPRECATION_RULE,
        reasons=reasons,
        recommended_action=action,
        notice_kind="watch",
        reproducibility={**outcome.reproducibility, DEPRECATION_KEY: line},
    )


def deprecation_watch(outcome: DecisionOutcome) -> str | None:
    """What is going away, when the deprecation rule made the verdict ``watch`` (for the
    notice's headline and lead); None otherwise."""
    if outcome.rule != DEPRECATION_RULE:
        return None
    line = outcome.reproducibility.get(DEPRECATION_KEY)
    return line if isinstance(line, str) else None
