"""Errors a user can cause in the registry: the workload file, eval sets, the database.

Exception tree::

    RegistryError (exit_code = 2)
        InputError            bad input in a file; carries path, line and field
            WorkloadFileError     relitigate.yaml
            EvalSetError          an eval set file (JSONL, CSV, Parquet)
        InvalidValueError     a value passed in is malformed (e.g. a quarter that is not YYYYQn)
        NotFoundError         a named workload, eval set, run or decision does not exist
        ConflictError         a unique key is already taken (e.g. a decision exists)
        DatabaseError         the database URL is wrong, unreachable or not initialised

Messages say what failed, where, the offending value when short, and what to do.
"""

from __future__ import annotations

from pathlib import Path


class RegistryError(Exception):
    """Base class of user-caused registry errors; the CLI prints it on one line, exits 2."""

    exit_code = 2


class InputError(RegistryError):
    """Bad content in an input file, located by path, line (or row) and field."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path,
        line: int | None = None,
        field: str | None = None,
        location_label: str = "line",
    ) -> None:
        self.path = str(path)
        self.line = line
        self.field = field
        self.message = message
        self.location_label = location_label
        where = self.path
        if line is not None:
            where += f":{line}" if location_label == "line" else f" {location_label} {line}"
        what = f"field '{field}': " if field else ""
        super().__init__(f"{where}: {what}{message}")


class WorkloadFileError(InputError):
    """The workloads file (``relitigate.yaml``) is malformed."""


class EvalSetError(InputError):
    """An eval set file is malformed."""


class InvalidValueError(RegistryError):
    """A value handed to a repository function is malformed."""


class NotFoundError(RegistryError):
    """A named registry object does not exist."""


class ConflictError(RegistryError):
    """A unique key is already taken."""


class DatabaseError(RegistryError):
    """The registry database cannot be used as configured."""
