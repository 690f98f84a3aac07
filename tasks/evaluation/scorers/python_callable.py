"""A scorer written by the user, named by import path ``package.module:function``.

The function takes ``(output: str, item: EvalItem)`` and returns a :class:`Score`, a bool
(pass/fail), or a float in [0, 1] (passes at ``threshold``); it may be async.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

from tasks.evaluation.errors import ConfigurationError
from tasks.evaluation.types import EvalItem, Score, Scorer


def load_callable(path: str) -> Callable[..., Any]:
    """Import ``package.module:function``; a bad path says what is missing."""
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigurationError(f"python scorer {path!r}: write it as package.module:function")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(
            f"python scorer {path!r}: cannot import module {module_name!r} ({exc}); "
            "is it on PYTHONPATH?"
        ) from exc
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ConfigurationError(f"python scorer {path!r}: {module_name} has no {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ConfigurationError(f"python scorer {path!r}: {attr!r} is not callable")
    return obj  # type: ignore[no-any-return]


def to_score(value: Any, *, threshold: float, path: str) -> Score:
    """A user function's return value as a Score."""
    if isinstance(value, Score):
        return value
    if isinstance(value, bool):
        return Score(value, float(value))
    if isinstance(value, int | float) and 0 <= value <= 1:
        return Score(value >= threshold, float(value))
    raise ValueError(
        f"python scorer {path!r} returned {value!r}; expected a Score, a bool or a number in [0, 1]"
    )


def python(path: str, *, threshold: float = 1.0) -> Scorer:
    """Wrap the function at ``path`` (see the module docstring)."""
    fn = load_callable(path)

    async def score(output: str, item: EvalItem) -> Score:
        value = fn(output, item)
        if inspect.isawaitable(value):
            value = await value
        return to_score(value, threshold=threshold, path=path)

    return score
