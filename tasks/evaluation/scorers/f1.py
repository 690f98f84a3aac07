"""Token F1 between output and target (SQuAD-style normalisation)."""

from __future__ import annotations

import re
from collections import Counter

from tasks.evaluation.scorers.match import normalize_text
from tasks.evaluation.types import EvalItem, Score, Scorer

_ARTICLES = re.compile(r"\b(a|an|the)\b")


def tokens(text: str) -> list[str]:
    """Normalised tokens: lower case, no punctuation, no articles."""
    return _ARTICLES.sub(" ", normalize_text(text)).split()


def f1(output: str, target: str) -> float:
    """Harmonic mean of token precision and recall; 1.0 when both are empty."""
    got, want = tokens(output), tokens(target)
    if not got or not want:
        return float(got == want)
    common = sum((Counter(got) & Counter(want)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(got), common / len(want)
    return 2 * precision * recall / (precision + recall)


def token_f1(*, threshold: float = 0.5) -> Scorer:
    """Score = token F1; passes at ``threshold`` or above."""

    async def score(output: str, item: EvalItem) -> Score:
        value = f1(output, item.target)
        return Score(value >= threshold, value, f"token F1 {value:.3f}")

    return score
