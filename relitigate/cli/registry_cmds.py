"""Registry commands: init, sync, workloads, workload, evalset. Filled in by the foundation."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach the registry commands to ``app``."""
