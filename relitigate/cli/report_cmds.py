"""Reading commands over the recorded decisions: ``report``, ``history`` and ``routing``.

Module imports stay light: pandas, matplotlib, sqlalchemy and yaml load inside the commands.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from relitigate.cli.choices import choice_option


class ReportFormat(enum.StrEnum):
    """What ``report`` writes (``tasks.report.service.REPORT_FORMATS``, a test checks)."""

    table = "table"
    json = "json"
    csv = "csv"
    md = "md"
    html = "html"


class RoutingFormat(enum.StrEnum):
    """What ``routing`` writes (``tasks.report.service.ROUTING_FORMATS``, a test checks)."""

    litellm = "litellm"
    json = "json"


_OUTPUT = typer.Option("--output", "-o", help="Write to FILE instead of stdout.")


def report(
    quarter: Annotated[
        str | None, typer.Option("--quarter", help="Quarter YYYYQn (default: the latest).")
    ] = None,
    fmt: Annotated[
        ReportFormat,
        choice_option(ReportFormat, "--format", "-f", help="What to write."),
    ] = ReportFormat.table,
    output: Annotated[Path | None, _OUTPUT] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
    deprecations: Annotated[
        bool,
        typer.Option(
            "--deprecations",
            help="Instead: every route the workloads depend on that has a deprecation date "
            "(table, or JSON with --json).",
        ),
    ] = False,
) -> None:
    """One row per workload: verdict, quality, ratio, costs, savings, gates, erosion."""
    if deprecations:
        from relitigate.cli.deprecations_view import show_deprecations

        show_deprecations(as_json=as_json or fmt == ReportFormat.json)
        return
    from registry.quarters import check_quarter
    from relitigate.cli.report_view import now_iso, print_report, registry_session
    from tasks.report.output import check_writable, write_output
    from tasks.report.service import load_report, report_html, report_text

    fmt = ReportFormat.json if as_json else fmt
    if quarter is not None:
        check_quarter(quarter)
    if output is not None:
        check_writable(output)
    with registry_session() as session:
        built = load_report(session, quarter=quarter, generated_at=now_iso())
        if fmt == ReportFormat.table and output is None:
            print_report(built.document, title=built.title)
            return
        if fmt == ReportFormat.table:
            from tasks.report.render import markdown_text

            text = markdown_text(built.document, title=built.title)
        elif fmt == ReportFormat.html:
            text = report_html(session, built)
        else:
            text = report_text(built, fmt.value)
    write_output(text, output)
    if output is not None:
        typer.echo(f"wrote {output}", err=True)


def history(
    workload: Annotated[str, typer.Argument(help="Workload name.")],
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Also write the chart to FILE.png.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every quarter's decision for WORKLOAD, and (with --plot) its chart."""
    import json

    from relitigate.cli.report_view import now_iso, print_history, registry_session
    from tasks.report.output import check_writable, write_output
    from tasks.report.service import history_png, load_history

    if plot is not None:
        check_writable(plot)
    with registry_session() as session:
        built = load_history(session, workload, generated_at=now_iso())
    if as_json:
        typer.echo(json.dumps(built.document, indent=2))
    else:
        print_history(built.document)
    if plot is not None:
        write_output(history_png(built), plot)
        typer.echo(f"wrote {plot}", err=True)


def routing(
    fmt: Annotated[
        RoutingFormat,
        choice_option(RoutingFormat, "--format", "-f", help="litellm (a YAML model_list) or json."),
    ] = RoutingFormat.litellm,
    output: Annotated[Path | None, _OUTPUT] = None,
) -> None:
    """A litellm routing table from the latest verdicts (aliases: workload names)."""
    from relitigate.cli.report_view import now_iso, registry_session
    from tasks.report.output import check_writable, write_output
    from tasks.report.service import routing_text

    if output is not None:
        check_writable(output)
    with registry_session() as session:
        text = routing_text(session, fmt.value, generated_at=now_iso())
    write_output(text, output)
    if output is not None:
        typer.echo(f"wrote {output}", err=True)


def register(app: typer.Typer) -> None:
    """Attach ``report``, ``history`` and ``routing`` to ``app``."""
    for command in (report, history, routing):
        app.command()(command)
