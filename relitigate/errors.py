"""How failures reach the user: an exit code and one line, a traceback only when asked.

The ground floor (``registry``, ``tasks.evaluation``, ``tasks.decision``, ``tasks.notify``)
must not import the front door, so each package keeps its own base exception::

    registry.errors.RegistryError            workload file, eval sets, database
    tasks.evaluation.errors.EvaluationError  providers, budget, scorers, unreachable endpoints
    tasks.decision.errors.DecisionError      decision inputs
    tasks.notify.errors.NoticeError          Slack delivery

Each base class carries ``exit_code = 2``. Its messages say what failed, the offending value
and what to do. The CLI prints such an error as it is and exits with that code. Anything
else is unexpected: one line naming its type, the hint to re-run with ``--debug``, exit 1.
Every printed text passes through :func:`tasks.redaction.scrub` first.

Exit codes (the README lists them too):

- 0: done.
- 1: the command ran, but part of its work failed (a workload of ``run``, a notice that was
  not delivered), or an unexpected error (a fault relitigate has no name for: Python's own
  exit code for an uncaught exception, so a script that treats any non-zero as failure, or
  1 as "look at the logs", keeps working).
- 2: the user can fix it: bad input or configuration, an unreachable registry or provider,
  a registry that needs ``relitigate init``, a Slack token that was refused.
- 130: interrupted (Ctrl-C).

Tracebacks appear with ``relitigate --debug ...`` or ``RELITIGATE_DEBUG=1``. Without them,
Prefect's console log lines keep their text but lose their tracebacks
(:class:`QuietConsoleHandler`), so a failed flow run is told once, by the CLI, in one line.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import sys
import traceback
from collections.abc import Mapping, MutableMapping, Sequence
from typing import IO, Any

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130

DEBUG_OPTION = "--debug"
DEBUG_ENV = "RELITIGATE_DEBUG"
_TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})

PREFECT_CONSOLE_ENV = "PREFECT_LOGGING_HANDLERS_CONSOLE_CLASS"
"""Prefect's logging setting for the class of its ``console`` handler."""
QUIET_CONSOLE = "relitigate.errors.QuietConsoleHandler"

_ENGINE_EXCEPTION_LINE = "Encountered exception during execution"
"""How Prefect's engine logs a failed run's exception (the "Finished in state Failed(...)"
line after it says the same without the traceback)."""


def user_error_exit_code(exc: BaseException) -> int | None:
    """The exit code a user-caused error asks for, or None for anything else."""
    code = getattr(type(exc), "exit_code", None)
    return code if isinstance(code, int) else None


def debug_requested(argv: Sequence[str], environ: Mapping[str, str]) -> bool:
    """Whether ``--debug`` comes before the command in ``argv``, or ``RELITIGATE_DEBUG`` is on."""
    for arg in argv:
        if arg == DEBUG_OPTION:
            return True
        if not arg.startswith("-"):
            break
    return environ.get(DEBUG_ENV, "").strip().lower() in _TRUE


def quiet_prefect_console(environ: MutableMapping[str, str]) -> None:
    """Have Prefect's console print log lines without tracebacks (unless the user chose a
    console handler). Call before Prefect is imported: it reads its logging settings then."""
    environ.setdefault(PREFECT_CONSOLE_ENV, QUIET_CONSOLE)


def _scrub(text: str) -> str:
    from tasks.redaction import scrub

    return scrub(text)


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def failure_line(exc: BaseException) -> str:
    """What the CLI prints for ``exc``: a named error's message, or one line for the rest."""
    if user_error_exit_code(exc) is not None:
        return _scrub(f"relitigate: error: {str(exc).strip() or type(exc).__name__}")
    detail = _first_line(str(exc))
    what = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return _scrub(
        f"relitigate: error: unexpected {what} (re-run with {DEBUG_OPTION} for the traceback)"
    )


def report_failure(exc: BaseException, *, debug: bool, stream: IO[str] | None = None) -> int:
    """Print ``exc`` (its traceback first when ``debug``) and return the exit code."""
    out = sys.stderr if stream is None else stream
    if debug:
        out.write(_scrub("".join(traceback.format_exception(exc))))
    out.write(failure_line(exc) + "\n")
    out.flush()
    code = user_error_exit_code(exc)
    return EXIT_FAILED if code is None else code


class QuietConsoleHandler(logging.Handler):
    """Prefect's console handler, printing each record's text (scrubbed) without its
    traceback, and leaving out the engine's "Encountered exception during execution"
    records. Named in Prefect's logging settings by :func:`quiet_prefect_console`.

    It wraps a ``PrefectConsoleHandler`` (built with the same settings, so lines look the
    same) instead of subclassing it, so this module does not import Prefect.
    """

    def __init__(self, level: int | str = logging.NOTSET, **kwargs: Any) -> None:
        from prefect.logging.handlers import PrefectConsoleHandler

        super().__init__(level)
        self.console = PrefectConsoleHandler(**kwargs)

    def setFormatter(self, fmt: logging.Formatter | None) -> None:
        super().setFormatter(fmt)
        self.console.setFormatter(fmt)

    def filter(self, record: logging.LogRecord) -> bool:
        if (
            record.name.startswith(("prefect.flow_runs", "prefect.task_runs"))
            and isinstance(record.msg, str)
            and record.msg.startswith(_ENGINE_EXCEPTION_LINE)
        ):
            return False
        return bool(super().filter(record))

    def emit(self, record: logging.LogRecord) -> None:
        quiet = copy.copy(record)
        quiet.exc_info = quiet.exc_text = quiet.stack_info = None
        with contextlib.suppress(Exception):  # a bad format string: the console reports it
            quiet.msg, quiet.args = _scrub(quiet.getMessage()), None
        self.console.emit(quiet)
