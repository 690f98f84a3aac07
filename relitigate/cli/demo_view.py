"""What ``relitigate demo`` prints: each quarter's decisions, the notices, the memos."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from tasks.decide import DecisionSummary


def show_demo(folder: Path) -> None:
    """Run the demo in ``folder`` and print what happened."""
    import time

    from rich.console import Console

    from relitigate.demo import DEPRECATED_WORKLOAD, run_demo

    console = Console()
    console.print(
        "[bold]relitigate demo[/]: four quarters against the provider [bold]simulator[/] "
        "(simulated models, not real providers)"
    )
    started = time.perf_counter()

    def on_quarter(quarter: str, rows: list[DecisionSummary]) -> None:
        verdicts = ", ".join(f"{r.workload}={r.verdict}" for r in rows)
        console.print(f"  {quarter}: {verdicts}")

    result = run_demo(folder, on_quarter=on_quarter)
    console.print(_decisions_table(result.decisions))
    from relitigate.cli.sequential_view import saving_sentence

    saving = saving_sentence(result.decisions)
    if saving:
        console.print(saving)
    for quarter, names in result.catalog_added.items():
        if names:
            console.print(
                f"{quarter}: new in the buy catalog: {', '.join(names)}; it challenged every "
                "workload whose pick matches (`relitigate catalog`). The same quarter, "
                f"{DEPRECATED_WORKLOAD}'s base model is deprecated within the horizon: its "
                "fine-tune still wins, but is watched until it moves "
                "(`relitigate report --deprecations`)"
            )
    _print_notices(console, result.database_url)
    console.print(f"\nMemos: {folder / 'memos'}/<workload>/<quarter>/memo.md (with trend.png)")
    console.print(f"Registry: {result.database_url}")
    console.print(
        f"Simulator requests served: {result.simulator_requests}; "
        f"wall time {time.perf_counter() - started:.1f} s"
    )
    console.print(
        f"Look around with: RELITIGATE_DATABASE_URL={result.database_url} relitigate report"
    )


def _decisions_table(decisions: list[DecisionSummary]) -> Table:
    from rich.table import Table

    table = Table(title="Decisions by quarter")
    table.add_column("workload", no_wrap=True)
    quarters = sorted({r.quarter for r in decisions})
    for q in quarters:
        table.add_column(q)
    by_workload: dict[str, dict[str, DecisionSummary]] = {}
    for r in decisions:
        by_workload.setdefault(r.workload, {})[r.quarter] = r
    for workload, cells in sorted(by_workload.items()):
        table.add_row(workload, *(_cell(cells.get(q)) for q in quarters))
    return table


def _print_notices(console: Console, database_url: str) -> None:
    """The outbox's notices, and the texts of the retire notice and the deprecation's watch
    notice."""
    from registry.db import make_engine, session_factory
    from registry.notices import list_notices
    from relitigate.demo import DEPRECATED_WORKLOAD
    from tasks.notify import payload_as_text

    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as session:
            notices = list_notices(session)
    finally:
        engine.dispose()
    console.print(
        f"\n[bold]Notices in the outbox[/] ({len(notices)}): the demo has no Slack token, so "
        "they stay pending; `relitigate notices deliver` sends them once one is set."
    )
    for n in notices:
        console.print(
            f"- #{n.id} {n.kind} {n.workload or '(digest)'} {n.quarter} ({n.state})",
            markup=False,
        )
    retire = next((n for n in notices if n.kind == "retire"), None)
    if retire is not None:
        console.print("\n[bold]The retire notice reads:[/]")
        console.print(payload_as_text(retire.payload), markup=False, highlight=False)
    deprecation = next(
        (n for n in notices if n.kind == "watch" and n.workload == DEPRECATED_WORKLOAD), None
    )
    if deprecation is not None:
        console.print("\n[bold]The deprecation's watch notice reads:[/]")
        console.print(payload_as_text(deprecation.payload), markup=False, highlight=False)


def _cell(row: DecisionSummary | None) -> str:
    if row is None:
        return ""
    adv = row.advantage
    text = row.verdict + ("" if adv is None else f" ({adv:.2f})")
    if row.notice_kind:
        text += f" +{row.notice_kind} notice"
    return text
