"""A quarter's decision inputs restricted to one sequential look's items, with its levels."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection

import numpy as np

from tasks.decision.errors import InvalidInputsError
from tasks.decision.sequential import LookLevels, SequentialUse
from tasks.decision.types import DecisionInputs, SideResults

_ARRAYS = (
    "scores",
    "passed",
    "errored",
    "cost_usd",
    "latency_ms",
    "prompt_tokens",
    "completion_tokens",
)


def _subset(side: SideResults, keys: Collection[str]) -> SideResults:
    keep = np.fromiter((k in keys for k in side.item_keys), dtype=np.bool_, count=side.n_items)
    changes = {name: getattr(side, name)[keep] for name in _ARRAYS}
    kept = tuple(k for k, ok in zip(side.item_keys, keep, strict=True) if ok)
    return dataclasses.replace(side, item_keys=kept, **changes)


def at_look(
    inputs: DecisionInputs,
    keys: Collection[str],
    look: LookLevels,
    use: SequentialUse | None = None,
) -> DecisionInputs:
    """``inputs`` with every side cut to ``keys`` (the look's items), tested at the look's
    levels; ``use`` says what the sequential evaluation used (memo, registry).

    Raises:
        InvalidInputsError: ``keys`` are not the look's item count of the eval set's items.
    """
    wanted = frozenset(keys)
    sides = [_subset(inputs.fine_tune, wanted), *(_subset(b, wanted) for b in inputs.buys)]
    if any(s.n_items != look.items for s in sides):
        raise InvalidInputsError(
            field="look.items",
            value=[s.n_items for s in sides],
            expected=f"{look.items} items of the eval set on every side",
        )
    return dataclasses.replace(
        inputs, fine_tune=sides[0], buys=tuple(sides[1:]), look=look, sequential=use
    )
