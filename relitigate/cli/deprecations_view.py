"""``relitigate report --deprecations``: the deprecations view as a table or JSON."""

from __future__ import annotations

from datetime import date

import typer


def show_deprecations(*, as_json: bool, today: date | None = None) -> None:
    """Print every dated route the active workloads depend on, soonest first."""
    from relitigate.cli.report_view import registry_session
    from tasks.report.deprecations import deprecation_rows

    with registry_session() as session:
        rows = deprecation_rows(session, today=today or date.today())
    if as_json:
        from relitigate.cli.registry_cmds import print_json

        print_json(rows)
        return
    if not rows:
        typer.echo("no route of an active workload has a known deprecation date")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="relitigate: deprecations")
    for column in ("workload", "uses", "route", "deprecated on", "days left", "effect"):
        table.add_column(column)
    for r in rows:
        uses = {"buy": "buy", "fine_tune": "fine-tune route", "base_model": "base model"}
        table.add_row(
            r["workload"],
            f"{uses[r['role']]} {r['candidate']}",
            r["route"],
            f"{r['deprecation_date']} ({r['source']})",
            str(r["days_left"]),
            r["effect"] or f"none yet (horizon {r['horizon_days']} days)",
        )
    Console().print(table)
