"""The fast way in for ``report`` and ``history``: no typer, pydantic or SQLAlchemy loaded.

``relitigate report`` and ``relitigate history W`` only read the registry, yet the regular
path pays for importing typer, pydantic-settings and the registry's ORM models (most of a
second) before it reads a row. :func:`run` serves the common read-only forms straight from
the database driver (the standard library's ``sqlite3``, or ``psycopg`` for PostgreSQL):

- ``report`` (terminal table), ``report --format json|md|table`` (``-f``, ``--json``),
  with ``--quarter YYYYQn``;
- ``history W``, ``history W --json``, ``history W --plot FILE`` (and both).

The rows, documents and text come from the same functions as the regular path
(:mod:`tasks.report.rows`, :mod:`tasks.report.document`, :mod:`tasks.report.render`,
:mod:`relitigate.cli.report_view`); only the reading is done here, with the same queries.
``report`` does not decode the JSON columns of the latest decisions (megabytes over a
thousand workloads): the database extracts the few values ``flatten`` reads
(:data:`tasks.report.rows.METRICS_READ` and its siblings; SQLite's ``->``, PostgreSQL's
``#>``) and :func:`tasks.report.rows.reduced` rebuilds columns that flatten the same.

It serves a command only when it understands all of it, and otherwise *declines* (returns
None, having written nothing) so that the typer application handles it as before, errors
included: an option it does not know, a repeated one, ``--output``, a database URL or
setting it cannot mirror cheaply, a registry that is missing, empty or at another schema
revision, an unknown workload, a stored value the regular reader would refuse (these are
:mod:`relitigate.cli.lean_registry`'s), or any failure before the output is complete.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from relitigate.cli.lean_registry import (
    Reader,
    database_url,
    history_records,
    report_records,
)
from tasks.report.records import DecisionRecord

REPORT_FORMATS = frozenset({"table", "json", "md"})
"""The formats served here (``csv`` and ``html`` need pandas and matplotlib anyway)."""
_ALL_REPORT_FORMATS = frozenset({"table", "json", "csv", "md", "html"})
"""``tasks.report.service.REPORT_FORMATS`` (a test checks)."""


@dataclass(frozen=True)
class Request:
    """A command line the fast path serves."""

    command: str
    """``report`` or ``history``."""
    fmt: str = "table"
    quarter: str | None = None
    workload: str = ""
    plot: Path | None = None


def run(argv: Sequence[str], environ: Mapping[str, str]) -> int | None:
    """Serve ``argv`` (without the program name) and return the exit code, or None having
    written nothing when the regular path must handle it."""
    try:
        request = parse_argv(argv)
        if request is None or any(_completing(name) for name in environ):
            return None
        output = _produce(request, database_url(environ))
    except KeyboardInterrupt:
        return _interrupted()
    except Exception:  # any doubt: the regular path runs and reports it its own way
        return None
    try:
        output()
    except KeyboardInterrupt:
        return _interrupted()
    except BrokenPipeError:  # `relitigate report | head`: as click, exit 1 and say nothing
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except Exception as exc:  # part of the output is out: fail as the regular path would
        from relitigate.errors import debug_requested, report_failure

        return report_failure(exc, debug=debug_requested(argv, environ))
    return 0


def _completing(name: str) -> bool:
    """Whether ``name`` is a shell-completion request (``_RELITIGATE_COMPLETE``, ...)."""
    return name.startswith("_") and name.endswith("_COMPLETE")


def _interrupted() -> int:
    """Ctrl-C during the command, told as the regular path tells it (click's blank line
    closes the terminal's ``^C`` echo)."""
    sys.stderr.write("\nrelitigate: interrupted\n")
    return 130


# --- the command line -------------------------------------------------------------------


def parse_argv(argv: Sequence[str]) -> Request | None:
    """The request ``argv`` makes, or None when it is not one the fast path serves."""
    args = list(argv)
    while args and args[0] == "--debug":
        args.pop(0)
    if not args or args[0] not in ("report", "history"):
        return None
    options, positional = _options(args[1:], values=_VALUE_OPTIONS[args[0]])
    if options is None:
        return None
    if args[0] == "report":
        return _report_request(options, positional)
    return _history_request(options, positional)


_VALUE_OPTIONS = {
    "report": {"--quarter": "--quarter", "--format": "--format", "-f": "--format"},
    "history": {"--plot": "--plot"},
}


def _options(
    args: list[str], *, values: Mapping[str, str]
) -> tuple[dict[str, str | None] | None, list[str]]:
    """Options (each at most once) and positional words; None when anything is unusual."""
    options: dict[str, str | None] = {}
    positional: list[str] = []
    flags = {"--json"}
    while args:
        word = args.pop(0)
        if not word.startswith("-") or word == "-":
            positional.append(word)
            continue
        name, eq, inline = word.partition("=")
        if name in values and name.startswith("--") and eq:
            value: str | None = inline
        elif word in values and args:
            value = args.pop(0)
        elif word in flags:
            value = None
        else:
            return None, positional
        key = values.get(name, name)
        if key in options or (value is not None and (not value or value.startswith("-"))):
            return None, positional
        options[key] = value
    return options, positional


def _report_request(options: dict[str, str | None], positional: list[str]) -> Request | None:
    if positional:
        return None
    fmt = (options.get("--format") or "table").strip().lower()
    if fmt not in _ALL_REPORT_FORMATS:
        return None  # refused even with --json: the regular path says so
    if "--json" in options:
        fmt = "json"
    if fmt not in REPORT_FORMATS:
        return None
    quarter = options.get("--quarter")
    if quarter is not None:
        from registry.quarters import check_quarter

        check_quarter(quarter)  # raises on a bad one: declined, the regular path says why
    return Request(command="report", fmt=fmt, quarter=quarter)


def _history_request(options: dict[str, str | None], positional: list[str]) -> Request | None:
    if len(positional) != 1:
        return None
    plot = options.get("--plot")
    if plot is not None and not (plot.isprintable() and plot.isascii()):
        return None  # click's echo of "wrote FILE" strips escapes, re-encodes to UTF-8
    return Request(
        command="history",
        fmt="json" if "--json" in options else "table",
        workload=positional[0],
        plot=None if plot is None else Path(plot),
    )


# --- the commands -------------------------------------------------------------------------


def _produce(request: Request, url: str) -> Callable[[], None]:
    """Read and build everything; return what writes it (nothing is written before)."""
    from relitigate.cli.report_view import now_iso

    if request.plot is not None:
        from tasks.report.output import check_writable

        check_writable(request.plot)
    reader = Reader(url)
    try:
        if request.command == "report":
            records = report_records(reader, request.quarter)
        else:
            case, records = history_records(reader, request.workload)
    finally:
        reader.close()
    if request.command == "report":
        return _report_output(request, records, now_iso())
    return _history_output(request, case, records, now_iso())


def _report_output(
    request: Request, records: list[DecisionRecord], generated_at: str
) -> Callable[[], None]:
    """``relitigate.cli.report_cmds.report`` from here on (``service.load_report``)."""
    from tasks.report.document import report_document
    from tasks.report.rows import decision_rows, latest_per_workload

    quarter = request.quarter
    rows = latest_per_workload(decision_rows(records), quarter)
    document = report_document(rows, quarter=quarter, generated_at=generated_at)
    title = f"relitigate report: {quarter}" if quarter else "relitigate report: latest decisions"
    if request.fmt == "table":
        from relitigate.cli.report_view import print_report

        return lambda: print_report(document, title=title)
    if request.fmt == "md":
        from tasks.report.render import markdown_text

        text = markdown_text(document, title=title)
    else:
        indent = 2 if len(rows) <= _INDENT_MAX_ROWS else None
        text = json.dumps(document, indent=indent) + "\n"
    return lambda: _write(text)


_INDENT_MAX_ROWS = 200
"""``tasks.report.service.INDENT_MAX_ROWS`` (a test checks)."""


def _history_output(
    request: Request, case: str, records: list[DecisionRecord], generated_at: str
) -> Callable[[], None]:
    """``relitigate.cli.report_cmds.history`` from here on (``service.load_history``)."""
    from relitigate.cli.report_view import print_history
    from tasks.report.document import history_document
    from tasks.report.rows import decision_rows

    if records:
        case = records[0].case
    rows = decision_rows(records)
    document = history_document(
        rows, workload=request.workload, case=case, generated_at=generated_at
    )
    png = None
    if request.plot is not None:
        from tasks.report.charts import history_chart_png

        png = history_chart_png(
            rows, title=f"{request.workload}: fine-tune vs buy alternative by quarter"
        )
        request.plot.write_bytes(png)  # before any output: a failure here is declined
        _skip_the_collection_at_exit()

    def output() -> None:
        if request.fmt == "json":
            _write(json.dumps(document, indent=2) + "\n")
        else:
            print_history(document)
        if request.plot is not None:
            sys.stderr.write(f"wrote {request.plot}\n")
            sys.stderr.flush()

    return output


def _skip_the_collection_at_exit() -> None:
    """Freeze every object when the interpreter exits, before its last garbage collection.

    After a chart, that collection walks everything matplotlib and numpy allocated (about a
    tenth of ``history --plot``) only to free memory the process is about to give back; exit
    handlers run before it, and nothing here needs a finaliser of a cycle (the PNG is written
    and closed, the connection closed, the streams are flushed at exit as always).
    """
    import atexit
    import gc

    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()
