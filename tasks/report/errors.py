"""Errors a user can cause when asking for a report, a history or a routing table.

Exception tree::

    ReportError (exit_code = 2)
        OutputError       the output file cannot be written (path and reason)

Unknown workloads and bad quarters are the registry's own errors
(``registry.errors.NotFoundError``, ``InvalidValueError``), raised by the reader.
"""

from __future__ import annotations

from pathlib import Path


class ReportError(Exception):
    """Base class of user-caused report errors; the CLI prints it on one line, exits 2."""

    exit_code = 2


class OutputError(ReportError):
    """The output file cannot be written."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(
            f"cannot write {self.path}: {reason}; choose a writable path with --output"
        )
