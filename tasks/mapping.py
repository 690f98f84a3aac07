"""Registry rows into the engines' frozen values, and engine results into rows.

The ground floor's three parts do not import each other; the task layer converts. The settings
inside the rows (thresholds, limits, scorer settings, pricing) are already the engines' own
vocabulary (:mod:`vocabulary`), stored as the user wrote them: they are read back through the
same models, and only the type changes (an ORM row into a frozen value object). Every function
here is pure (no session, no I/O), so each is checked by a unit test without a database.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
from pydantic import BaseModel, ValidationError

from registry.models import Candidate, Workload
from registry.models import EvalItem as EvalItemRow
from registry.runs import ItemResultRow, RunItemResult
from tasks.decision.deprecations import deprecation_watch
from tasks.decision.errors import InvalidInputsError
from tasks.decision.outcome import DecisionOutcome
from tasks.decision.sides import SideSummary
from tasks.decision.types import HistoryPoint, SideResults, Throughput, WorkloadPolicy
from tasks.evaluation.errors import ConfigurationError
from tasks.evaluation.types import CandidateSpec, EvalItem, FewShot, ItemResult, Pricing, PromptSpec
from tasks.notify.facts import (
    GateFacts,
    Interval,
    NoticeFacts,
    OwnerDestinations,
    SideFacts,
    TrendFacts,
)
from vocabulary import ErrorKind, Limits, Prompt, Thresholds
from vocabulary import Pricing as DeclaredPricing

Model = TypeVar("Model", bound=BaseModel)


class StoredSettingError(ValueError):
    """A stored setting the vocabulary refuses (written by an older release, or by hand)."""

    def __init__(self, where: str, exc: ValidationError) -> None:
        first = exc.errors(include_url=False)[0]
        self.field = ".".join([where, *(str(part) for part in first["loc"])])
        self.value = first.get("input")
        self.expected = str(first["msg"]).removeprefix("Value error, ")
        super().__init__(
            f"stored {self.field} = {self.value!r} is refused: {self.expected}; fix the "
            "workloads file and run relitigate sync"
        )


def stored(model: type[Model], raw: Mapping[str, Any] | None, *, where: str) -> Model:
    """A stored JSON setting read back through its :mod:`vocabulary` model.

    Raises:
        StoredSettingError: the stored value breaks the model's rules.
    """
    try:
        return model.model_validate(dict(raw or {}))
    except ValidationError as exc:
        raise StoredSettingError(where, exc) from None


def candidate_spec(row: Candidate) -> CandidateSpec:
    """The engine's view of a registered candidate.

    Raises:
        ConfigurationError: a stored setting the engine refuses.
    """
    try:
        prompt = stored(Prompt, row.prompt, where="prompt")
        limits = stored(Limits, row.limits, where="limits")
        pricing = stored(DeclaredPricing, row.pricing, where="pricing") if row.pricing else None
    except StoredSettingError as exc:
        raise ConfigurationError(f"candidate {row.name!r}: {exc}") from None
    return CandidateSpec(
        name=row.name,
        route=row.route,
        api_base=row.api_base,
        api_key_env=row.api_key_env,
        prompt=PromptSpec(
            system=prompt.system,
            few_shot=tuple(FewShot(input=s.input, output=s.output) for s in prompt.few_shot),
            template=prompt.template,
        ),
        params=dict(row.params or {}),
        pricing=Pricing.from_declared(pricing),
        limits=limits,
    )


def eval_item(row: EvalItemRow) -> EvalItem:
    """The engine's view of one stored eval item (targets are compared as text)."""
    target = row.target if isinstance(row.target, str) else _json_text(row.target)
    return EvalItem(
        key=row.item_key, input=row.input, target=target, metadata=row.item_metadata or {}
    )


def _json_text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def result_row(result: ItemResult) -> ItemResultRow:
    """One engine result as the registry's checkpoint row."""
    judge: dict[str, Any] | None = None
    if result.judge is not None:
        judge = {
            "route": result.judge.route,
            "model_version": result.judge.model_version,
            "explanation": result.explanation,
        }
    return ItemResultRow(
        item_key=result.item_key,
        output=result.output,
        passed=None if result.error else result.passed,
        score=None if result.error else result.score,
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
        cost_usd=result.cost_usd,
        judge_cost_usd=result.judge_cost_usd,
        latency_ms=result.latency_ms,
        attempts=result.attempts,
        error=result.error,
        error_kind=(result.error_kind or ErrorKind.OTHER) if result.error else None,
        judge=judge,
    )


def policy(workload: Workload) -> WorkloadPolicy:
    """A workload's declared facts as the decision engine takes them.

    Raises:
        InvalidInputsError: a stored threshold the engine refuses.
    """
    try:
        thresholds = stored(Thresholds, workload.thresholds, where="thresholds")
    except StoredSettingError as exc:
        raise InvalidInputsError(field=exc.field, value=exc.value, expected=exc.expected) from None
    return WorkloadPolicy(
        name=workload.name,
        case=workload.case.value,  # type: ignore[arg-type]
        volume_per_day=None if workload.volume_per_day is None else float(workload.volume_per_day),
        fixed_costs_monthly_usd=float(workload.fixed_costs_monthly_usd or 0.0),
        training_examples=workload.training_examples,
        task_stable=workload.task_stable,
        domain_stable=workload.domain_stable,
        adopted_quarter=workload.adopted_quarter,
        thresholds=thresholds,
    )


def side_results(
    candidate: Candidate,
    results: Sequence[RunItemResult],
    *,
    model_version: str | None,
    run_stats: Mapping[str, Any] | None = None,
) -> SideResults:
    """One candidate's stored results as a decision side.

    An item without a stored result (a run stopped by its budget cap, say) counts as an
    errored item: it is never dropped, so it weighs on the side's error rate.
    """
    stats = dict(run_stats or {})
    errored = [(not r.has_result) or r.error is not None for r in results]
    throughput = None
    cost_per_call = stats.get("gpu_cost_per_call_usd")
    if stats.get("items_per_s") and (candidate.pricing or {}).get("gpu_hourly_usd") is not None:
        throughput = Throughput(
            hardware=str(stats.get("hardware", "unknown hardware")),
            items_per_s=float(stats["items_per_s"]),
            batch_size=stats.get("batch_size"),
            gpu_usd_per_hour=float(candidate.pricing["gpu_hourly_usd"]),
        )
    err = np.array(errored, dtype=np.bool_)
    return SideResults(
        name=candidate.name,
        route=candidate.route,
        model_version=model_version,
        role=candidate.role.value,  # type: ignore[arg-type]
        item_keys=tuple(r.item_key for r in results),
        scores=np.array([np.nan if r.score is None else r.score for r in results], np.float64),
        passed=np.array([bool(r.passed) for r in results], np.bool_) & ~err,
        errored=err,
        cost_usd=np.array([r.cost_usd for r in results], np.float64),
        latency_ms=np.array([r.latency_ms or 0.0 for r in results], np.float64),
        prompt_tokens=np.array([r.prompt_tokens for r in results], np.float64),
        completion_tokens=np.array([r.completion_tokens for r in results], np.float64),
        pricing=dict(candidate.pricing or {}),
        throughput=throughput,
        cost_per_call_usd=None if cost_per_call is None else float(cost_per_call),
    )


def history_point(
    quarter: str, verdict: str, metrics: Mapping[str, Any], case: str
) -> HistoryPoint:
    """A stored decision as the trend sees it (missing numbers stay None)."""

    def get(*path: str) -> Any:
        node: Any = metrics
        for key in path:
            if not isinstance(node, Mapping) or key not in node:
                return None
            node = node[key]
        return node

    advantage_key = "ratio" if case == "cost_distillation" else "difference"
    return HistoryPoint(
        quarter=quarter,
        advantage=get(advantage_key, "value"),
        verdict=verdict,  # type: ignore[arg-type]
        fine_tune_quality=get("fine_tune", "quality", "value"),
        buy_quality=get("buy", "quality", "value"),
        fine_tune_cost_per_useful_task=get("fine_tune", "cost_per_useful_task_usd"),
        buy_cost_per_useful_task=get("buy", "cost_per_useful_task_usd"),
        buy_name=get("buy", "name"),
    )


def notice_facts(
    outcome: DecisionOutcome,
    workload: Workload,
    *,
    memo_url: str | None = None,
    flow_run_url: str | None = None,
) -> NoticeFacts:
    """What a notice says about a decision."""
    ratio = outcome.comparison.ratio

    def side(summary: SideSummary) -> SideFacts:
        q = summary.quality
        return SideFacts(
            model=f"{summary.name} ({summary.route})",
            quality=q.value,
            quality_ci=Interval(q.low, q.high),
            cost_per_useful_task=summary.cost_per_useful_task_usd,
        )

    failed = tuple(
        GateFacts(name=g.name, evidence=g.evidence) for g in outcome.gates if g.status == "fail"
    )
    reason = "; ".join(outcome.reasons) if outcome.verdict == "inconclusive" else None
    return NoticeFacts(
        workload=workload.name,
        quarter=outcome.quarter,
        verdict=outcome.verdict,
        case=outcome.case,
        quality_ratio=ratio.value,
        quality_ratio_ci=Interval(ratio.low, ratio.high),
        finetune=side(outcome.fine_tune),
        buy=side(outcome.buy),
        monthly_savings_usd=outcome.money.net_monthly_savings_usd or 0.0,
        recommended_action=outcome.recommended_action,
        calls_per_day=(
            workload.volume_per_day
            if outcome.money.volume_per_day is None
            else round(outcome.money.volume_per_day)
        ),
        failed_gates=failed,
        trend=TrendFacts(
            quarters_since_adoption=outcome.trend.quarters_since_adoption,
            projected_erosion_quarter=outcome.trend.projected_erosion_quarter,
        ),
        memo_url=memo_url,
        flow_run_url=flow_run_url,
        owner=OwnerDestinations(
            slack_user=workload.owner_slack_user,
            email=workload.owner_email,
            channel=workload.slack_channel,
        ),
        reason=reason,
        deprecation=deprecation_watch(outcome),
    )
