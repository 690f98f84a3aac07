"""Reading commands over the recorded decisions: ``report``."""

from __future__ import annotations

import json
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Attach ``report`` to ``app``."""

    @app.command()
    def report(
        quarter: Annotated[
            str | None, typer.Option("--quarter", help="Quarter YYYYQn (default: the latest).")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Show the recorded decisions (each workload's latest by default)."""
        from registry.quarters import check_quarter
        from relitigate.cli.report_view import decisions_rows, print_decisions

        rows = decisions_rows(check_quarter(quarter) if quarter else None)
        if as_json:
            typer.echo(json.dumps(rows, indent=2, default=str))
        else:
            print_decisions(rows)
