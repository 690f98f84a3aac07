"""LLM judge: a model grades each output against the target with a rubric.

The judge is called through the same provider adapter as the candidates, with its own
route, key, price and retries. Its cost is reported apart (``Score.judge_cost_usd``) and its
route and model version are recorded with every score (``Score.judge``). A judge may not be
one of the contestants it judges (:func:`check_judge_independent`). Its key is registered
with :mod:`tasks.redaction` as soon as the judge is built, so no text shows it.

The prompt puts the question, the answer and the reference in tags::

    <question>...</question>  <answer>...</answer>  <reference>...</reference>

and asks for ``{"score": <0..1>, "reason": "..."}``.
"""

from __future__ import annotations

import json
import os
import random
import re
from collections.abc import Mapping, Sequence
from typing import Any

from tasks.evaluation.errors import JudgeIsContestantError
from tasks.evaluation.preflight import Preflight, check_candidate
from tasks.evaluation.provider import Completion, Provider, open_provider
from tasks.evaluation.retry import Attempts, RetryPolicy, call_with_retry
from tasks.evaluation.types import (
    CandidateSpec,
    EvalItem,
    JudgeInfo,
    Limits,
    Pricing,
    Score,
    Scorer,
)
from tasks.redaction import register_secret

SYSTEM = (
    "You grade an answer against a reference answer, following the rubric. "
    'Reply with JSON only: {"score": <number from 0 to 1>, "reason": "<one sentence>"}.'
)
_SCORE = re.compile(r'"score"\s*:\s*"?([0-9]*\.?[0-9]+)')


def question_text(item: EvalItem) -> str:
    """The item's question: its text input, or its last user message."""
    if isinstance(item.input, str):
        return item.input
    for m in reversed(item.input):
        if m.get("role") == "user":
            return str(m.get("content", ""))
    return ""


def judge_messages(rubric: str, output: str, item: EvalItem) -> list[dict[str, Any]]:
    """The grading prompt for one output."""
    user = (
        f"Rubric:\n{rubric}\n\n<question>{question_text(item)}</question>\n\n"
        f"<answer>{output}</answer>\n\n<reference>{item.target}</reference>"
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def parse_verdict(text: str) -> tuple[float, str | None]:
    """(score in [0, 1], reason) from the judge's reply; ValueError if there is none."""
    try:
        data = json.loads(text.strip().removeprefix("```json").strip("`\n "))
        value, reason = float(data["score"]), data.get("reason")
    except (ValueError, KeyError, TypeError):
        m = _SCORE.search(text)
        if m is None:
            raise ValueError(f"judge reply has no score: {text[:200]!r}") from None
        value, reason = float(m.group(1)), None
    if not 0 <= value <= 1:
        raise ValueError(f"judge score {value} is outside [0, 1]")
    return value, None if reason is None else str(reason)


class LLMJudge:
    """The judge scorer; build it with :func:`llm_judge`."""

    def __init__(
        self, spec: CandidateSpec, pre: Preflight, *, rubric: str, threshold: float
    ) -> None:
        self.spec, self.pre, self.rubric = spec, pre, rubric
        self.threshold = threshold
        self.judge_route = spec.route
        self._provider: Provider | None = None
        self._policy = RetryPolicy(max_attempts=spec.limits.max_attempts)
        self._rng = random.Random()

    async def __call__(self, output: str, item: EvalItem) -> Score:
        if self._provider is None:
            self._provider = open_provider(self.spec, self.pre.route, api_key=self.pre.api_key)
        provider = self._provider
        messages = judge_messages(self.rubric, output, item)
        c: Completion = await call_with_retry(
            lambda: provider.complete(messages), self._policy, attempts=Attempts(), rng=self._rng
        )
        value, reason = parse_verdict(c.text)
        return Score(
            passed=value >= self.threshold,
            value=value,
            explanation=reason,
            judge=JudgeInfo(route=self.spec.route, model_version=c.model_version),
            judge_cost_usd=self.pre.plan.call_cost(c.prompt_tokens, c.completion_tokens),
            judge_prompt_tokens=c.prompt_tokens,
            judge_completion_tokens=c.completion_tokens,
        )

    async def aclose(self) -> None:
        """Close the judge's connections (reopened on next use)."""
        if self._provider is not None:
            provider, self._provider = self._provider, None
            await provider.aclose()


def llm_judge(
    route: str,
    rubric: str,
    *,
    api_base: str | None = None,
    api_key_env: str | None = None,
    threshold: float = 0.5,
    params: Mapping[str, Any] | None = None,
    pricing: Pricing | None = None,
    concurrency: int = 32,
    timeout_s: float = 60.0,
    env: Mapping[str, str] | None = None,
) -> Scorer:
    """A judge on ``route`` grading with ``rubric`` (an answer passes at ``threshold``; see
    :class:`vocabulary.LlmJudgeScorer`); credentials, route and price are checked now, before
    any call."""
    spec = CandidateSpec(
        name=f"llm-judge ({route})",
        route=route,
        api_base=api_base,
        api_key_env=api_key_env,
        params={"temperature": 0, **(params or {})},
        pricing=pricing,
        limits=Limits(concurrency=concurrency, timeout_s=timeout_s),
    )
    pre = check_candidate(spec, env=os.environ if env is None else env)
    register_secret(pre.api_key)
    return LLMJudge(spec, pre, rubric=rubric, threshold=threshold)


def _model_name(route: str) -> str:
    return route.split("/", 1)[-1]


def check_judge_independent(scorer: Scorer, contestants: Sequence[CandidateSpec]) -> None:
    """Refuse a judge whose model is one of the contestants (same route or model name)."""
    judge_route = getattr(scorer, "judge_route", None)
    if not isinstance(judge_route, str):
        return
    for c in contestants:
        if c.route == judge_route or _model_name(c.route) == _model_name(judge_route):
            raise JudgeIsContestantError(judge_route=judge_route, candidate=c.name)
