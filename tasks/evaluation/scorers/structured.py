"""Structured answers: JSON field(s) and numbers within a tolerance."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any

from tasks.evaluation.scorers.match import normalize_text
from tasks.evaluation.types import EvalItem, Score, Scorer

_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.S)
_NUMBER = re.compile(r"[-+]?(?:\d[\d,]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_MISSING = object()


def parse_json(text: str) -> Any:
    """Parse JSON, tolerating a surrounding Markdown code fence. Raises ValueError."""
    text = text.strip()
    m = _FENCE.match(text)
    return json.loads(m.group(1) if m else text)


def get_path(data: Any, path: str) -> Any:
    """``a.b.0.c`` into nested dicts and lists; a missing step gives ``_MISSING``."""
    for part in path.split("."):
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return _MISSING
    return data


def _same(a: Any, b: Any, normalize: bool) -> bool:
    if normalize and isinstance(a, str) and isinstance(b, str):
        return normalize_text(a) == normalize_text(b)
    return bool(a == b)


def json_field(fields: Sequence[str] | str, *, normalize: bool = False) -> Scorer:
    """Output and target are JSON objects; compare the named (dotted) fields.

    The score is the share of fields that match; it passes when all do.
    """
    names = [fields] if isinstance(fields, str) else list(fields)

    async def score(output: str, item: EvalItem) -> Score:
        try:
            got = parse_json(output)
        except ValueError:
            return Score(False, 0.0, "output is not JSON")
        want = parse_json(item.target)
        wrong = [
            f
            for f in names
            if get_path(got, f) is _MISSING
            or not _same(get_path(got, f), get_path(want, f), normalize)
        ]
        value = 1 - len(wrong) / len(names)
        return Score(not wrong, value, f"fields differ: {', '.join(wrong)}" if wrong else None)

    return score


def extract_number(text: str) -> float | None:
    """The whole text as a number, else the last number in it (commas as thousands)."""
    s = text.strip().replace(",", "")
    try:
        return float(s)
    except ValueError:
        pass
    found = _NUMBER.findall(text)
    for token in reversed(found):
        try:
            return float(token.replace(",", ""))
        except ValueError:
            continue
    return None


def numeric(*, tolerance: float = 0.0, relative: bool = False) -> Scorer:
    """The output's number is within ``tolerance`` of the target's: an absolute difference,
    or a fraction of the target when ``relative`` (:class:`vocabulary.NumericScorer`)."""
    abs_tol, rel_tol = (0.0, tolerance) if relative else (tolerance, 1e-9)

    async def score(output: str, item: EvalItem) -> Score:
        got, want = extract_number(output), extract_number(item.target)
        if got is None or want is None:
            return Score(
                False,
                0.0,
                "no number in the output"
                if got is None
                else f"target {item.target!r} is not a number",
            )
        ok = math.isclose(got, want, rel_tol=rel_tol, abs_tol=abs_tol)
        return Score(
            ok, 1.0 if ok else 0.0, None if ok else f"{got} is not within tolerance of {want}"
        )

    return score
