"""Report, history and routing from a registry session: the reader, then the pure parts.

Each function takes a ``Session`` (the caller owns it and commits nothing: these only read)
and returns what the CLI prints or writes.

The rows, the JSON documents and the terminal/markdown tables are plain Python
(:mod:`tasks.report.rows`); pandas is used, and imported, only where it does the work: the
CSV (:func:`report_text` with ``csv``, :mod:`tasks.report.frame`). The charts of the HTML
report and of ``history --plot`` are matplotlib over the same rows (:mod:`tasks.report.charts`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from tasks.report import reader
from tasks.report.document import history_document, report_document
from tasks.report.rows import Row, decision_rows, latest_per_workload

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

ReportFormat = Literal["table", "json", "csv", "md", "html"]
RoutingFormat = Literal["litellm", "json"]
REPORT_FORMATS: tuple[str, ...] = ("table", "json", "csv", "md", "html")
ROUTING_FORMATS: tuple[str, ...] = ("litellm", "json")
MAX_HTML_HISTORIES = 12
"""Workloads detailed with a history chart in the HTML report (the most urgent first)."""
INDENT_MAX_ROWS = 200


def dumps(document: dict[str, Any], *, rows: int) -> str:
    """JSON text: indented for people up to ``INDENT_MAX_ROWS`` rows, compact beyond (the C
    encoder is about ten times faster; whitespace is not part of the schema)."""
    indent = 2 if rows <= INDENT_MAX_ROWS else None
    return json.dumps(document, indent=indent) + "\n"


@dataclass(frozen=True)
class Report:
    """One quarter's report: its rows (one per workload, most urgent first) and JSON document."""

    rows: list[Row]
    document: dict[str, Any]
    title: str


def load_report(session: Session, *, quarter: str | None, generated_at: str) -> Report:
    """One row per active workload for ``quarter`` (default: each one's latest decision).

    Raises:
        InvalidValueError: ``quarter`` is not ``YYYYQn``.
    """
    records = reader.report_records(session, quarter)
    rows = latest_per_workload(decision_rows(records), quarter)
    document = report_document(rows, quarter=quarter, generated_at=generated_at)
    title = f"relitigate report: {quarter}" if quarter else "relitigate report: latest decisions"
    return Report(rows=rows, document=document, title=title)


def report_text(report: Report, fmt: str) -> str:
    """``json``, ``csv`` or ``md`` text of a report (``table`` and ``html`` are elsewhere)."""
    from tasks.report.render import csv_text, markdown_text

    if fmt == "json":
        return dumps(report.document, rows=len(report.rows))
    if fmt == "csv":
        return csv_text(report.rows)
    if fmt == "md":
        return markdown_text(report.document, title=report.title)
    raise ValueError(f"report_text: unsupported format {fmt!r}")


def report_html(session: Session, report: Report) -> str:
    """The HTML page: overview chart, table, and history charts of the urgent workloads."""
    from tasks.report.charts import history_chart_png, overview_chart_png
    from tasks.report.html import render_html

    decided = [r for r in report.rows if r["verdict"] is not None]
    overview = (
        overview_chart_png(decided, title="Advantage against threshold, and net savings")
        if decided
        else None
    )
    histories: dict[str, bytes] = {}
    for row in decided[:MAX_HTML_HISTORIES]:
        name = str(row["workload"])
        history = decision_rows(reader.history_records(session, name))
        histories[name] = history_chart_png(history, title=f"{name}: by quarter")
    return render_html(
        report.document, title=report.title, overview_png=overview, history_pngs=histories
    )


@dataclass(frozen=True)
class History:
    """Every decision of one workload: its rows (oldest first) and JSON document."""

    workload: str
    case: str
    rows: list[Row]
    document: dict[str, Any]


def load_history(session: Session, workload: str, *, generated_at: str) -> History:
    """Every quarter's decision of ``workload``, oldest first.

    Raises:
        NotFoundError: no workload of that name.
    """
    records = reader.history_records(session, workload)
    if records:
        case = records[0].case
    else:
        from registry.queries import get_workload

        case = get_workload(session, workload, include_archived=True).case.value
    rows = decision_rows(records)
    document = history_document(rows, workload=workload, case=case, generated_at=generated_at)
    return History(workload=workload, case=case, rows=rows, document=document)


def history_png(history: History) -> bytes:
    """The history chart of a workload (matplotlib over its rows; no pandas)."""
    from tasks.report.charts import history_chart_png

    return history_chart_png(
        history.rows, title=f"{history.workload}: fine-tune vs buy alternative by quarter"
    )


def routing_text(session: Session, fmt: str, *, generated_at: str) -> str:
    """The routing table as litellm YAML (``model_list``) or the JSON document."""
    from tasks.report.routing import litellm_yaml, routes, routing_document

    table = routes(reader.routing_records(session))
    if fmt == "litellm":
        return litellm_yaml(table, generated_at=generated_at)
    if fmt == "json":
        return dumps(routing_document(table, generated_at=generated_at), rows=len(table))
    raise ValueError(f"routing_text: unsupported format {fmt!r}")
