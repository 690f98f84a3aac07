"""Commands that run the re-litigation: ``run``, ``bench``, ``demo``.

Prefect, litellm and the engines are imported inside the command bodies. ``run`` and
``bench`` print a table, or with ``--json`` one JSON document on stdout and nothing else there
(Prefect's log lines and the progress bar go to stderr).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from flows.parameters import QuarterRequest
    from flows.quarter import QuarterOutcome

QuarterOpt = Annotated[
    str | None, typer.Option("--quarter", help="Quarter YYYYQn (default: the current one).")
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print the results as JSON on stdout (nothing else there).")
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
    as_json: JsonOpt = False,
    triggered: Annotated[
        bool,
        typer.Option(
            "--triggered",
            help="Re-decide the workloads that trigger causes ask for (new eval-set version, "
            "replaced fine-tune, new catalog challenger, deprecation in the horizon); each "
            "cause is taken once.",
        ),
    ] = False,
    challenger: Annotated[
        str | None,
        typer.Option(
            "--challenger",
            help="Re-decide now every workload this catalog entry challenges (its new buy "
            "is benchmarked; stored results only resume).",
        ),
    ] = None,
) -> None:
    """Run the quarterly re-litigation now (embedded Prefect, or PREFECT_API_URL).

    A quarter already decided keep, watch or retire is reused; one decided inconclusive
    gets a retry pass over its errored items and is decided again.
    """
    from flows.parameters import QuarterRequest
    from tasks.context import opened

    request = QuarterRequest(
        quarter=_check_quarter(quarter), workloads=workload or None, force=force, fresh=fresh
    )
    if triggered and challenger:
        from registry.errors import InvalidValueError

        raise InvalidValueError("give --triggered or --challenger, not both")
    if triggered or challenger:
        from relitigate.cli.trigger_run import run_challenger, run_triggered

        with opened() as ctx:
            if triggered:
                run_triggered(ctx, request, as_json=as_json, show=_show)
            else:
                run_challenger(ctx, request, challenger or "", as_json=as_json, show=_show)
        return
    _run_request(request, as_json=as_json)


def _run_request(request: QuarterRequest, *, as_json: bool) -> QuarterOutcome | None:
    """Run the quarter flow for ``request``; the outcome (None: no workload decided)."""
    import asyncio

    from tasks.context import handed_down, opened

    with opened() as ctx:  # reachable and up to date, before Prefect starts
        from relitigate.prefect_env import apply_prefect_defaults
        from relitigate.prefect_server import use_running_serve

        serving = use_running_serve(ctx.settings.data_dir)  # no temporary server to start
        if serving and not as_json:
            typer.echo(f"relitigate: using `relitigate serve`'s Prefect API ({serving})", err=True)
        apply_prefect_defaults()
        from flows.quarter import QuarterFailedError, QuarterOutcome, relitigate_quarter
        from relitigate.cli.trigger_run import settle_run

        started = settle_run(ctx, None)
        try:
            with handed_down(ctx):
                outcome = asyncio.run(relitigate_quarter(request))
        except QuarterFailedError as exc:
            failed = exc.outcome or QuarterOutcome(quarter=request.resolved_quarter())
            settle_run(ctx, failed, started=started)
            _show(failed, as_json=as_json, table=bool(failed.decisions))
            if exc.outcome is None:
                typer.echo(f"relitigate: {exc}", err=True)
            raise typer.Exit(code=1) from None
        settle_run(ctx, outcome, started=started)
    _show(outcome, as_json=as_json, table=True)
    return outcome


def bench(
    workload: Annotated[str, typer.Argument(help="Workload name.")],
    candidate: Annotated[
        str | None, typer.Option("--candidate", help="Only this candidate.")
    ] = None,
    quarter: QuarterOpt = None,
    budget: Annotated[
        float | None, typer.Option("--budget", help="Cap on each candidate's spend, USD.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the head-to-head for one workload now and print both sides' figures."""
    from relitigate.cli.bench_view import run_bench

    run_bench(
        workload,
        candidate=candidate,
        quarter=_check_quarter(quarter),
        budget=_check_budget(budget),
        as_json=as_json,
    )


def demo(
    folder: Annotated[
        Path, typer.Option("--dir", help="Where the demo writes its registry and memos.")
    ] = Path("demo-output"),
) -> None:
    """Four quarters against the provider simulator: keep, watch/retire and inconclusive."""
    from relitigate.cli.demo_view import show_demo

    show_demo(folder.resolve())


def register(app: typer.Typer) -> None:
    """Attach ``run``, ``bench`` and ``demo`` to ``app``."""
    for command in (run, bench, demo):
        app.command()(command)


def _show(outcome: QuarterOutcome, *, as_json: bool, table: bool) -> None:
    """The decisions (JSON on stdout, or a table), then one line per failed workload."""
    from tasks.redaction import scrub

    if as_json:
        typer.echo(scrub(json.dumps(outcome.to_json(), indent=2)))
    elif table:
        _print_table(outcome)
    for failure in outcome.failures:
        cause = next((ln for ln in failure.detail.splitlines() if ln.strip()), "")
        where = f"{failure.workload} {failure.quarter}"
        typer.echo(scrub(f"relitigate: {where} failed: {cause}"), err=True)


def _print_table(outcome: QuarterOutcome) -> None:
    from rich.console import Console
    from rich.table import Table

    from relitigate.cli.sequential_view import frontier_calls, saving_sentence

    table = Table(title="relitigate: decisions")
    # names and verdicts are never cut: a narrow terminal folds the memo path instead
    for col in ("workload", "quarter", "verdict"):
        table.add_column(col, no_wrap=True)
    for col in ("advantage", "frontier calls", "notice"):
        table.add_column(col)
    table.add_column("memo", overflow="fold")
    for d in outcome.decisions:
        table.add_row(
            d.workload, d.quarter, d.verdict,
            "" if d.advantage is None else f"{d.advantage:.3f}", frontier_calls(d),
            d.notice_kind or "", d.memo_path or ("(reused)" if d.reused else ""),
        )  # fmt: skip
    Console().print(table)
    saving = saving_sentence(outcome.decisions)
    if saving:
        Console().print(saving)
