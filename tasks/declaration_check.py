"""The engines' rules, as ``sync`` applies them to a declaration before anything is written.

The workloads file is validated by the engines' own models (:mod:`vocabulary`); what remains
are the checks only an engine can make on a whole declaration: the decision policy (the
adopted quarter), building the scorer, the candidate as the evaluation engine takes it, and a
self-hosted candidate's ``serving`` settings. Each runs the conversion a benchmark or a
decision runs, so ``sync`` applies exactly the engines' rules, including rules added later.
"""

from __future__ import annotations

from collections.abc import Mapping

from registry.models import Candidate, Runner, Workload
from registry.sync import FieldProblem
from tasks.decision.errors import DecisionError, InvalidInputsError
from tasks.evaluation.errors import EvaluationError
from tasks.mapping import candidate_spec, policy

# TypeError: a setting the workloads schema has and an engine function no longer takes.
_ENGINE_ERRORS = (DecisionError, EvaluationError, ValueError, TypeError)


def _policy_problem(exc: Exception) -> FieldProblem:
    if not isinstance(exc, InvalidInputsError):
        return FieldProblem(field="adopted", message=str(exc))  # the only other policy check
    return FieldProblem(
        field=exc.field, message=f"{exc.value!r} is refused by the decision engine: {exc.expected}"
    )


def check_declaration(
    workload: Workload, candidates: Mapping[str, Candidate]
) -> FieldProblem | None:
    """The first setting of a workload, as ``sync`` would store it, that an engine refuses.

    Args:
        workload: the workload row ``sync`` would write (never added to a session).
        candidates: its candidate rows, keyed by their place in the file (``fine_tune``,
            ``buy[0]``, ...).
    """
    from tasks.evaluation.scorers import check_scorer

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
            spec = candidate_spec(row)
        except _ENGINE_ERRORS as exc:
            return FieldProblem(field=place, message=str(exc))
        if spec.limits.batch:
            from tasks.evaluation.batch_api import check_batch_declaration

            try:
                check_batch_declaration(spec)
            except _ENGINE_ERRORS as exc:
                return FieldProblem(field=f"{place}.limits.batch", message=str(exc))
        if row.runner != Runner.API:
            from tasks.gpu.config import parse_serving

            try:
                parse_serving(row.name, row.serving or {})
            except _ENGINE_ERRORS as exc:
                return FieldProblem(field=f"{place}.serving", message=str(exc))
    return None
