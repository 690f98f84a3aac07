"""Turn one model output into an item's result: score it, carry its cost and timing.

Shared by every runner (API, served, in-process) so an output is scored and recorded the
same way whichever way it was produced.
"""

from __future__ import annotations

from decimal import Decimal

from tasks.evaluation.errors import EvaluationError
from tasks.evaluation.types import EvalItem, ItemResult, Scorer
from vocabulary import ErrorKind


async def score_output(
    scorer: Scorer,
    item: EvalItem,
    output: str,
    *,
    prompt_tokens: int,
    completion_tokens: int,
    cost_usd: Decimal,
    latency_ms: float,
    attempts: int,
    model_version: str | None = None,
) -> ItemResult:
    """The item's result for ``output``.

    A scorer that raises an :class:`EvaluationError` (bad configuration, a judge's permanent
    error) stops the run; any other exception is a broken user scorer: it marks this item
    as errored (kind ``scorer``), not the run.
    """
    try:
        s = await scorer(output, item)
    except EvaluationError:
        raise
    except Exception as exc:
        s = None
        error: str | None = f"scorer failed: {exc!r}"
    else:
        error = None
    return ItemResult(
        item_key=item.key,
        output=output,
        passed=s.passed if s else False,
        score=s.value if s else 0.0,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cost_usd=cost_usd,
        judge_cost_usd=s.judge_cost_usd if s else Decimal(0),
        latency_ms=latency_ms,
        attempts=attempts,
        error=error,
        error_kind=ErrorKind.SCORER if error else None,
        explanation=s.explanation if s else None,
        model_version=model_version,
        judge=s.judge if s else None,
    )
