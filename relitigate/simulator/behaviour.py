"""What a simulated model answers: deterministic per (model, item), so true quality is known.

Answer models: the item's target when ``unit(model, item id) < accuracy``, else a wrong
answer: another target of the eval sets (chosen by the same hash), or, when every target is
the same, the target with ``" (wrong)"`` appended; numeric targets get a different number.

Judge models (``role: judge``) read ``<answer>...</answer>`` and ``<reference>...</reference>``
from the last user message, compare them after normalisation (case, whitespace, punctuation)
and reply ``{"score": 1|0, "reason": "..."}``; with ``accuracy`` below 1 they reverse their
verdict on a deterministic share of prompts.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import string
from collections.abc import Sequence

from relitigate.simulator.evalsets import SimItem

_PUNCT = str.maketrans("", "", string.punctuation)
_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.S)
_REFERENCE = re.compile(r"<reference>(.*?)</reference>", re.S)


def unit(*parts: str) -> float:
    """A deterministic number in [0, 1) from the parts."""
    digest = hashlib.blake2b("\x00".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def wrong_answer(model: str, item: SimItem, targets: Sequence[str]) -> str:
    """A deterministic wrong answer for ``item``."""
    try:
        number = float(item.target)
    except ValueError:
        number = None
    if number is not None and math.isfinite(number):
        delta = 1 + int(unit(model, item.id, "delta") * 9)
        wrong = number + delta
        return str(int(wrong)) if wrong.is_integer() and "." not in item.target else str(wrong)
    if targets:
        start = int(unit(model, item.id, "pick") * len(targets))
        for i in range(len(targets)):
            candidate = targets[(start + i) % len(targets)]
            if candidate != item.target:
                return candidate
    return f"{item.target} (wrong)"


def answer(
    model: str, accuracy: float, item: SimItem | None, text: str, targets: Sequence[str]
) -> str:
    """The answer model ``model`` gives to an item (or to an unrecognised prompt)."""
    if item is None:
        return f"simulator: no eval item matches this prompt ({unit(model, text):.6f})"
    if unit(model, item.id, "correct") < accuracy:
        return item.target
    return wrong_answer(model, item, targets)


def normalise(text: str) -> str:
    """Lower case, no punctuation, single spaces."""
    return " ".join(text.lower().translate(_PUNCT).split())


def judge(model: str, accuracy: float, text: str) -> str:
    """A judge model's reply to a grading prompt."""
    got, ref = _ANSWER.search(text), _REFERENCE.search(text)
    if got is None or ref is None:
        return json.dumps({"score": 0, "reason": "simulator judge: no <answer>/<reference>"})
    correct = normalise(got.group(1)) == normalise(ref.group(1))
    if unit(model, text, "judge") >= accuracy:
        correct = not correct
    reason = "matches the reference" if correct else "differs from the reference"
    return json.dumps({"score": 1 if correct else 0, "reason": f"simulator judge: {reason}"})


def count_tokens(chars: int) -> int:
    """The simulator's token estimate: ceil(characters / 4), at least 1."""
    return max(1, -(-chars // 4))
