"""How the front door recognises errors that a user caused.

The ground floor (``registry``, ``tasks.evaluation``, ``tasks.decision``, ``tasks.notify``)
must not import the front door, so each package keeps its own base exception::

    registry.errors.RegistryError            workload file, eval sets, database
    tasks.evaluation.errors.EvaluationError  providers, budget, scorers
    tasks.decision.errors.DecisionError      decision inputs
    tasks.notify.errors.NoticeError          Slack delivery

Each base class carries ``exit_code = 2``. Its messages say what failed, the offending value
and what to do. The CLI prints such an error on one line and exits with that code; anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations


def user_error_exit_code(exc: BaseException) -> int | None:
    """The exit code a user-caused error asks for, or None for anything else."""
    code = getattr(type(exc), "exit_code", None)
    return code if isinstance(code, int) else None
