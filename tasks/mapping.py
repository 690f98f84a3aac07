"""Conversions between registry rows and the engines' plain data.

The ground floor's three parts do not import each other; the task layer translates. Every
function here is pure (no session, no I/O): it takes rows already loaded and returns frozen
data, so each mapping is checked by a unit test without a database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import numpy as np

from registry.models import Candidate, Runner, Workload
from registry.models import EvalItem as EvalItemRow
from registry.runs import ItemResultRow, RunItemResult
from registry.sync import FieldProblem
from tasks.decision.errors import DecisionError, InvalidInputsError
from tasks.decision.outcome import DecisionOutcome
from tasks.decision.sides import SideSummary
from tasks.decision.types import HistoryPoint, SideResults, Thresholds, Throughput, WorkloadPolicy
from tasks.evaluation.errors import ConfigurationError, EvaluationError
from tasks.evaluation.types import (
    CandidateSpec,
    EvalItem,
    FewShot,
    ItemResult,
    Limits,
    Pricing,
    PromptSpec,
)
from tasks.notify.facts import (
    GateFacts,
    Interval,
    NoticeFacts,
    OwnerDestinations,
    SideFacts,
    TrendFacts,
)

_THRESHOLD_NAMES = {
    # workload file name -> decision engine name
    "quality_ratio_min": "quality_ratio_min",
    "min_volume_per_day": "min_volume_per_day",
    "min_training_examples": "min_training_examples",
    "min_items": "min_items",
    "max_error_rate": "max_error_rate",
    "warning_horizon_quarters": "warning_horizon_quarters",
    "significance_alpha": "alpha",
    "domain_margin_min": "domain_margin",
}


def _per_token(usd_per_million: Any) -> Decimal:
    return Decimal(str(usd_per_million)) / Decimal(1_000_000)


def pricing_of(raw: Mapping[str, Any]) -> Pricing | None:
    """The engine's pricing from a candidate's stored ``pricing`` (None: litellm's map)."""
    if not raw:
        return None
    if raw.get("gpu_hourly_usd") is not None:
        return Pricing(
            gpu_usd_per_hour=Decimal(str(raw["gpu_hourly_usd"])), gpus=raw.get("gpus") or 1
        )
    return Pricing(
        input_usd_per_token=_per_token(raw["input_per_mtok"]),
        output_usd_per_token=_per_token(raw["output_per_mtok"]),
    )


def candidate_spec(row: Candidate) -> CandidateSpec:
    """The engine's view of a registered candidate."""
    prompt = row.prompt or {}
    limits = {k: v for k, v in (row.limits or {}).items() if v is not None}
    return CandidateSpec(
        name=row.name,
        route=row.route,
        api_base=row.api_base,
        api_key_env=row.api_key_env,
        prompt=PromptSpec(
            system=prompt.get("system"),
            few_shot=tuple(
                FewShot(input=str(s["input"]), output=str(s["output"]))
                for s in prompt.get("few_shot", [])
            ),
            template=prompt.get("template", "{input}"),
        ),
        params=dict(row.params or {}),
        pricing=pricing_of(row.pricing or {}),
        limits=Limits(**limits),
    )


def eval_item(row: EvalItemRow) -> EvalItem:
    """The engine's view of one stored eval item (targets are compared as text)."""
    target = row.target if isinstance(row.target, str) else _json_text(row.target)
    return EvalItem(
        key=row.item_key, input=row.input, target=target, metadata=row.item_metadata or {}
    )


def _json_text(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def scorer_spec(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The engine's ``build_scorer`` settings for a workload's stored scorer declaration.

    Raises:
        ConfigurationError: a declaration the engine cannot honour, naming the field.
    """
    spec = dict(raw)
    kind = spec.pop("kind", "exact")
    if kind in ("exact", "normalized"):
        return {"type": kind}
    if kind == "regex":
        return {
            "type": "regex",
            "pattern": spec["pattern"],
            "ignore_case": spec.get("ignore_case", False),
        }
    if kind == "json_field":
        return {"type": "json_fields", "fields": list(spec["fields"])}
    if kind == "numeric":
        tolerance = float(spec.get("tolerance", 0.0))
        if spec.get("relative"):
            return {"type": "numeric", "abs_tol": 0.0, "rel_tol": tolerance}
        return {"type": "numeric", "abs_tol": tolerance}
    if kind == "token_f1":
        return {"type": "token_f1", "threshold": spec.get("threshold", 0.5)}
    if kind == "llm_judge":
        pricing = pricing_of(spec.get("pricing") or {})
        return {
            "type": "llm_judge",
            "route": spec["route"],
            "rubric": spec["rubric"],
            "api_base": spec.get("api_base"),
            "api_key_env": spec.get("api_key_env"),
            "pass_threshold": spec.get("threshold", 0.5),
            "params": spec.get("params") or {},
            "pricing": pricing,
        }
    if kind == "python":
        options = dict(spec.get("options") or {})
        threshold = options.pop("threshold", 1.0)
        if options:
            raise ConfigurationError(
                f"eval_set.scorer.options: the python scorer accepts only 'threshold', got "
                f"{sorted(options)}; read other settings inside {spec['callable']!r}"
            )
        return {"type": "python", "path": spec["callable"], "threshold": threshold}
    raise ConfigurationError(f"eval_set.scorer.kind {kind!r} is unknown")


def check_scorer(raw: Mapping[str, Any]) -> None:
    """Build the scorer a stored declaration describes, as a benchmark would, short of what
    needs the run's environment: an LLM judge's key and a Python scorer's module are only
    checked for the shape of their settings.

    Raises:
        ConfigurationError: the engine would refuse the declaration.
    """
    import inspect

    from tasks.evaluation.scorers import SCORERS, build_scorer

    settings = scorer_spec(raw)
    kind = settings["type"]
    if kind not in ("llm_judge", "python"):
        build_scorer(settings)
        return
    try:
        inspect.signature(SCORERS[kind]).bind(**{k: v for k, v in settings.items() if k != "type"})
    except TypeError as exc:
        raise ConfigurationError(f"scorer {kind!r}: {exc}") from exc


_FILE_NAMES = {engine: file for file, engine in _THRESHOLD_NAMES.items()}
# TypeError: a setting the workloads schema has and an engine type no longer takes.
_ENGINE_ERRORS = (DecisionError, EvaluationError, ValueError, TypeError)


def _policy_problem(exc: Exception) -> FieldProblem:
    if not isinstance(exc, InvalidInputsError):
        return FieldProblem(field="adopted", message=str(exc))  # the only other policy check
    prefix, _, name = exc.field.rpartition(".")
    field = f"thresholds.{_FILE_NAMES.get(name, name)}" if prefix == "thresholds" else name
    return FieldProblem(
        field=field, message=f"{exc.value!r} is refused by the decision engine: {exc.expected}"
    )


def check_declaration(
    workload: Workload, candidates: Mapping[str, Candidate]
) -> FieldProblem | None:
    """The first setting of a workload, as ``sync`` would store it, that an engine refuses.

    Runs the conversions a benchmark and a decision run (:func:`policy`, :func:`check_scorer`,
    :func:`candidate_spec`, the GPU serving parser), so ``sync`` applies exactly the engines'
    rules, including rules added to them later.
    """
    try:
        policy(workload)
    except _ENGINE_ERRORS as exc:
        return _policy_problem(exc)
    try:
        check_scorer(workload.scorer or {})
    except _ENGINE_ERRORS as exc:
        return FieldProblem(field="eval_set.scorer", message=str(exc))
    for place, row in candidates.items():
        try:
            candidate_spec(row)
        except _ENGINE_ERRORS as exc:
            return FieldProblem(field=place, message=str(exc))
        if row.runner != Runner.API:
            from tasks.gpu.config import parse_serving

            try:
                parse_serving(row.name, row.serving or {})
            except _ENGINE_ERRORS as exc:
                return FieldProblem(field=f"{place}.serving", message=str(exc))
    return None


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
        error_kind=_error_kind(result.error_kind) if result.error else None,
        judge=judge,
    )


def _error_kind(kind: str | None) -> str:
    known = {"rate_limit", "server", "timeout", "permanent", "budget"}
    if kind in known:
        return kind
    if kind == "provider":
        return "permanent"
    return "other"


def thresholds(overrides: Mapping[str, Any]) -> Thresholds:
    """Decision thresholds: the defaults with the workload's overrides applied."""
    values = {_THRESHOLD_NAMES[k]: v for k, v in overrides.items() if k in _THRESHOLD_NAMES}
    return Thresholds(**values)


def policy(workload: Workload) -> WorkloadPolicy:
    """A workload's declared facts as the decision engine takes them."""
    return WorkloadPolicy(
        name=workload.name,
        case=workload.case.value,  # type: ignore[arg-type]
        volume_per_day=float(workload.volume_per_day),
        fixed_costs_monthly_usd=float(workload.fixed_costs_monthly_usd or 0.0),
        training_examples=workload.training_examples,
        task_stable=workload.task_stable,
        domain_stable=workload.domain_stable,
        adopted_quarter=workload.adopted_quarter,
        thresholds=thresholds(workload.thresholds or {}),
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
        calls_per_day=workload.volume_per_day,
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
    )
