"""Writing a report to a file or stdout, with errors a user can act on."""

from __future__ import annotations

import sys
from pathlib import Path

from tasks.report.errors import OutputError


def check_writable(path: Path) -> None:
    """Fail early (before any work) when ``path`` cannot be written.

    Raises:
        OutputError: the folder is missing, the path is a folder, or it is not writable.
    """
    import os

    if path.is_dir():
        raise OutputError(path, "it is a folder")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(path, f"folder {folder} does not exist")
    target = path if path.exists() else folder
    if not os.access(target, os.W_OK):
        raise OutputError(path, "permission denied")


def write_output(data: str | bytes, path: Path | None) -> None:
    """Write ``data`` to ``path``, or to stdout when ``path`` is None.

    Raises:
        OutputError: the file cannot be written.
    """
    if path is None:
        if isinstance(data, bytes):
            sys.stdout.buffer.write(data)
        else:
            sys.stdout.write(data)
        sys.stdout.flush()
        return
    try:
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
    except OSError as exc:
        raise OutputError(path, exc.strerror or str(exc)) from exc
