"""String matchers: exact, normalized (case, whitespace, punctuation), regex."""

from __future__ import annotations

import re
import string

from tasks.evaluation.errors import ConfigurationError
from tasks.evaluation.types import EvalItem, Score, Scorer

_PUNCT = str.maketrans("", "", string.punctuation)


def normalize_text(
    text: str, *, case: bool = True, whitespace: bool = True, punctuation: bool = True
) -> str:
    """Lower-case, drop ASCII punctuation, collapse whitespace (each step optional)."""
    if case:
        text = text.lower()
    if punctuation:
        text = text.translate(_PUNCT)
    if whitespace:
        text = " ".join(text.split())
    return text


def _verdict(ok: bool, what: str) -> Score:
    return Score(passed=ok, value=1.0 if ok else 0.0, explanation=what if not ok else None)


def exact(*, strip: bool = True) -> Scorer:
    """Output equals the target (surrounding whitespace ignored when ``strip``)."""

    async def score(output: str, item: EvalItem) -> Score:
        a, b = (output.strip(), item.target.strip()) if strip else (output, item.target)
        return _verdict(a == b, "output differs from the target")

    return score


def normalized(*, case: bool = True, whitespace: bool = True, punctuation: bool = True) -> Scorer:
    """Output equals the target after :func:`normalize_text`."""

    async def score(output: str, item: EvalItem) -> Score:
        ok = normalize_text(
            output, case=case, whitespace=whitespace, punctuation=punctuation
        ) == normalize_text(item.target, case=case, whitespace=whitespace, punctuation=punctuation)
        return _verdict(ok, "output differs from the target after normalisation")

    return score


def regex(pattern: str | None = None, *, ignore_case: bool = False, full: bool = False) -> Scorer:
    """Output matches a regular expression.

    Args:
        pattern: the regex; ``{target}`` in it stands for the escaped target. None: the
            item's target is the regex.
        ignore_case: match case-insensitively.
        full: the whole (stripped) output must match, not just a part.
    """
    flags = re.IGNORECASE if ignore_case else 0
    if pattern is not None and "{target}" not in pattern:
        fixed = _compile(pattern, flags)

    async def score(output: str, item: EvalItem) -> Score:
        if pattern is None:
            rx = _compile(item.target, flags)
        elif "{target}" in pattern:
            rx = _compile(pattern.replace("{target}", re.escape(item.target)), flags)
        else:
            rx = fixed
        m = rx.fullmatch(output.strip()) if full else rx.search(output)
        return _verdict(m is not None, f"output does not match /{rx.pattern}/")

    return score


def _compile(pattern: str, flags: int) -> re.Pattern[str]:
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise ConfigurationError(f"regex scorer: pattern {pattern!r} is invalid: {exc}") from exc
