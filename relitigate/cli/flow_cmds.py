"""Commands that run the re-litigation: ``run``, ``bench``, ``demo``.

Prefect, litellm and the engines are imported inside the command bodies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

QuarterOpt = Annotated[
    str | None, typer.Option("--quarter", help="Quarter YYYYQn (default: the current one).")
]


def _check_quarter(quarter: str | None) -> str | None:
    if quarter is None:
        return None
    from registry.quarters import check_quarter

    return check_quarter(quarter)


def _check_budget(budget: float | None) -> float | None:
    """A spending cap must be a positive, finite number of USD (refused before anything runs)."""
    import math

    if budget is None or (math.isfinite(budget) and budget > 0):
        return budget
    from registry.errors import InvalidValueError

    raise InvalidValueError(
        f"--budget {budget!r} is not a positive amount of USD: give a cap above 0, e.g. --budget 25"
    )


def register(app: typer.Typer) -> None:
    """Attach ``run``, ``bench`` and ``demo`` to ``app``."""

    @app.command()
    def run(
        quarter: QuarterOpt = None,
        workload: Annotated[
            list[str] | None, typer.Option("--workload", help="Only this workload (repeatable).")
        ] = None,
        force: Annotated[
            bool,
            typer.Option(
                "--force",
                help="Re-decide quarters already decided, from the stored results (benchmarks "
                "only resume).",
            ),
        ] = False,
        fresh: Annotated[
            bool,
            typer.Option(
                "--fresh",
                help="Re-benchmark from scratch as a new attempt and decide again; the earlier "
                "attempt's runs, results and decision stay on record.",
            ),
        ] = False,
    ) -> None:
        """Run the quarterly re-litigation now (embedded Prefect, or PREFECT_API_URL).

        A quarter already decided keep, watch or retire is reused; one decided inconclusive
        gets a retry pass over its errored items and is decided again.
        """
        import asyncio

        q = _check_quarter(quarter)
        from tasks.runtime import registry_sessions

        registry_sessions()  # reachable and up to date, before Prefect starts
        from relitigate.prefect_env import apply_prefect_defaults

        apply_prefect_defaults()
        from flows.quarter import QuarterFailedError, relitigate_quarter

        try:
            rows = asyncio.run(
                relitigate_quarter(quarter=q, workloads=workload or None, force=force, fresh=fresh)
            )
        except QuarterFailedError as exc:
            _print_failed_quarter(exc.rows or [{"verdict": "error", "detail": str(exc)}])
            raise typer.Exit(code=1) from None
        _print_rows(rows)

    @app.command()
    def bench(
        workload: Annotated[str, typer.Argument(help="Workload name.")],
        candidate: Annotated[
            str | None, typer.Option("--candidate", help="Only this candidate.")
        ] = None,
        quarter: QuarterOpt = None,
        budget: Annotated[
            float | None, typer.Option("--budget", help="Cap on each candidate's spend, USD.")
        ] = None,
    ) -> None:
        """Run the head-to-head for one workload now and print both sides' figures."""
        from relitigate.cli.bench_view import run_bench

        run_bench(
            workload,
            candidate=candidate,
            quarter=_check_quarter(quarter),
            budget=_check_budget(budget),
        )

    @app.command()
    def demo(
        folder: Annotated[
            Path, typer.Option("--dir", help="Where the demo writes its registry and memos.")
        ] = Path("demo-output"),
    ) -> None:
        """Four quarters against the provider simulator: keep, watch/retire and inconclusive."""
        from relitigate.cli.demo_view import show_demo

        show_demo(folder.resolve())


def _print_failed_quarter(rows: list[dict[str, Any]]) -> None:
    """The decided workloads' table, then one line per failed workload with its cause."""
    from tasks.redaction import scrub

    decided = [r for r in rows if r.get("verdict") != "error"]
    if decided:
        _print_rows(decided)
    for r in rows:
        if r.get("verdict") == "error":
            cause = next((ln for ln in str(r.get("detail", "")).splitlines() if ln.strip()), "")
            where = " ".join(str(r[k]) for k in ("workload", "quarter") if r.get(k))
            typer.echo(scrub(f"relitigate: {where or 'quarter'} failed: {cause}"), err=True)


def _print_rows(rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="relitigate: decisions")
    for col in ("workload", "quarter", "verdict", "advantage", "notice", "memo"):
        table.add_column(col)
    for r in rows:
        adv = r.get("advantage")
        table.add_row(
            str(r.get("workload")),
            str(r.get("quarter")),
            str(r.get("verdict")),
            "" if adv is None else f"{adv:.3f}",
            str(r.get("notice_kind") or ""),
            str(r.get("memo_path") or ("(reused)" if r.get("reused") else "")),
        )
    Console().print(table)
