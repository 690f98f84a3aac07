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
setting it cannot mirror cheaply (see :func:`database_url`), a registry that is missing,
empty or at another schema revision, an unknown workload, a stored value the regular
reader would refuse, or any failure before the output is complete.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tasks.report.records import DecisionRecord

SCHEMA_REVISION = "0009"
"""``registry.db.SCHEMA_REVISION`` (a test checks they agree; importing it loads the ORM)."""
CASES = frozenset({"cost_distillation", "domain_expertise"})
VERDICTS = frozenset({"keep", "watch", "retire", "inconclusive"})
NOTICE_KINDS = frozenset(
    {"retire", "watch", "inconclusive", "digest", "reply", "reminder", "escalation", "flag"}
)
NOTICE_STATUSES = frozenset({"pending", "sending", "sent", "failed"})
"""The values of ``Case``, ``Verdict``, ``NoticeKind`` and ``NoticeStatus`` (a test checks):
the ORM refuses any other stored value, so the fast path declines on one."""

SETTINGS_FIELDS = frozenset(
    {
        "data_dir", "database_url", "slack_token", "slack_base_url", "slack_platform_channel",
        "prefect_ui_url", "gpu_deployment", "slack_token_block", "slack_app_token",
        "slack_app_token_block", "slack_signing_secret", "slack_signing_secret_block",
        "slack_admins", "reminder_days", "escalation_days", "on_demand_deployment",
        "max_concurrent_workloads", "workload_deployment", "workload_retries", "rate_limits",
        "lease_ttl_s", "lease_heartbeat_s", "lease_wait_s", "retry_cooldown_s",
        "evalset_max_rows", "evalset_max_line_bytes",
    }
)  # fmt: skip
"""Every field of ``tasks.settings.Settings`` (a test checks)."""
ANY_TEXT_FIELDS = frozenset(
    {
        "slack_token", "slack_base_url", "slack_platform_channel", "slack_app_token",
        "slack_app_token_block", "slack_signing_secret", "slack_signing_secret_block",
        "slack_admins", "on_demand_deployment",
    }
)  # fmt: skip
"""Settings that accept any text: setting them cannot make the settings fail to load."""
ENV_PREFIX = "RELITIGATE_"
REPORT_FORMATS = frozenset({"table", "json", "md"})
"""The formats served here (``csv`` and ``html`` need pandas and matplotlib anyway)."""
_ALL_REPORT_FORMATS = frozenset({"table", "json", "csv", "md", "html"})
"""``tasks.report.service.REPORT_FORMATS`` (a test checks)."""


class Declined(Exception):
    """The fast path does not serve this command; the typer application will."""


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


# --- the settings -------------------------------------------------------------------------


def database_url(environ: Mapping[str, str]) -> str:
    """The registry URL exactly as ``tasks.settings.load_settings`` resolves it.

    Raises:
        Declined: a ``RELITIGATE_*`` setting could fail validation, or is spelled in another
            case (pydantic-settings reads names case-insensitively).
    """
    for key in environ:
        field = key.lower().removeprefix(ENV_PREFIX.lower())
        if field == key.lower() or field not in SETTINGS_FIELDS:
            continue
        if key != key.upper() or field not in ANY_TEXT_FIELDS | {"database_url", "data_dir"}:
            raise Declined(key)
    url = environ.get(ENV_PREFIX + "DATABASE_URL")
    if url is not None:
        if not url.strip():
            raise Declined("blank database URL")
        return url
    folder = environ.get(ENV_PREFIX + "DATA_DIR")
    if folder is None:
        from platformdirs import user_data_path

        data_dir = user_data_path("relitigate", appauthor=False)
    elif not folder.strip():
        raise Declined("blank data dir")
    else:
        data_dir = Path(folder)
    return f"sqlite:///{data_dir / 'registry.sqlite3'}"


_POSTGRES_URL = re.compile(
    r"postgresql(?:\+psycopg)?://(?:(?P<user>[^:/@]+)(?::(?P<password>[^/@]+))?@)?"
    r"(?P<host>[^:/@]+)(?::(?P<port>[0-9]+))?/(?P<dbname>[^/@:]+)"
)


def _quoted(value: str) -> str:
    """A libpq connection-string value."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


# --- reading ------------------------------------------------------------------------------


class _Reader:
    """One read-only connection to the registry and its placeholder style."""

    def __init__(self, url: str) -> None:
        if any(c in url for c in "?#%[]\\") or not url.isprintable():
            raise Declined("URL")
        self.postgres = False
        if url.startswith(("sqlite:///", "sqlite+pysqlite:///")):
            import sqlite3

            path = url.split(":///", 1)[1]
            if not path or path.startswith(("~", "file:")) or not os.path.isfile(path):
                raise Declined("SQLite path")
            self.conn: Any = sqlite3.connect(path, timeout=30.0, isolation_level=None)
            # As the registry's engine begins every transaction (a read-only or locked
            # file fails here as it fails there): one snapshot for every query.
            self.conn.execute("BEGIN IMMEDIATE")
            self.mark = "?"
        else:
            match = _POSTGRES_URL.fullmatch(url)
            if match is None:
                raise Declined("URL")
            import psycopg

            params = " ".join(
                f"{k}={_quoted(v)}" for k, v in match.groupdict().items() if v is not None
            )
            self.conn = psycopg.connect(params, connect_timeout=10)
            self.postgres = True
            self.mark = "%s"
        try:
            revision = self.rows("SELECT version_num FROM alembic_version")
        except BaseException:
            self.close()
            raise
        if [tuple(r) for r in revision] != [(SCHEMA_REVISION,)]:
            self.close()
            raise Declined("schema revision")

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        cursor = self.conn.cursor()
        try:
            cursor.execute(sql.replace("?", self.mark), tuple(params))
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def json(self, value: Any) -> Any:
        """A JSON column's value as the ORM would hand it over."""
        if self.postgres or value is None:
            return value
        if not isinstance(value, str):
            raise Declined("JSON column")
        return json.loads(value)

    def close(self) -> None:
        try:
            self.conn.rollback()
        finally:
            self.conn.close()


_WORKLOAD_COLUMNS = 'w.name, w."case", w.owner_email, w.volume_per_day, w.adopted_quarter'
_FULL_COLUMNS = "d.metrics, d.gates, d.trend, d.reproducibility"


_JSON_COLUMNS = ("d.metrics", "d.trend", "d.reproducibility")
_POSTGRES_DETOASTED = (
    " LEFT OUTER JOIN LATERAL (SELECT d.metrics #> '{}' AS c0, d.trend #> '{}' AS c1,"
    " d.reproducibility #> '{}' AS c2 OFFSET 0) AS x ON true"
)
"""Each JSON column of the row read from its TOAST storage once (``#> '{}'`` is the value
itself), not once per extracted value: about half of the query's time on PostgreSQL."""


def _reduced_columns(postgres: bool) -> str:
    """One JSON array per decision holding only what ``flatten`` reads of its JSON columns
    (:data:`tasks.report.rows.METRICS_READ` ...), and its whole (small) ``gates``: a report
    over a thousand workloads then decodes kilobytes, not the megabytes of the columns.

    For each column: its JSON type, whether it is non-empty, then the value at each path.
    """
    from tasks.report.rows import METRICS_READ, REPRODUCIBILITY_READ, TREND_READ

    parts = []
    for i, (column, paths) in enumerate(
        zip(_JSON_COLUMNS, (METRICS_READ, TREND_READ, REPRODUCIBILITY_READ), strict=True)
    ):
        if postgres:
            value = f"x.c{i}"
            unread = f"{value} IS NULL AND {column} IS NOT NULL"  # never, on PostgreSQL >= 12
            parts += [f"CASE WHEN {unread} THEN 'unread' ELSE jsonb_typeof({value}) END"]
            parts += [f"{value} <> '{{}}'::jsonb"]
            parts += [f"{value} #> '{{{','.join(p)}}}'" for p in paths]
        else:
            parts += [f"json_type({column})", f"EXISTS (SELECT 1 FROM json_each({column}))"]
            parts += [f"{column} -> '$.{'.'.join(p)}'" for p in paths]
    packed = "jsonb_build_array" if postgres else "json_array"
    return f"{packed}({', '.join(parts)}), d.gates"


def _column(kind: Any, nonempty: Any, paths: Sequence[tuple[str, ...]], values: Any) -> Any:
    """A JSON object column rebuilt from its type, emptiness and the values at ``paths``."""
    from tasks.report.rows import reduced

    if kind is None or kind == "null":
        return None
    if kind != "object":
        raise Declined("JSON column")  # the regular reader's own handling decides
    return reduced(paths, values) if nonempty else {}


def _unpacked(reader: _Reader, packed: Any, gates: Any) -> tuple[Any, Any, Any, Any]:
    """metrics, gates, trend and reproducibility from :func:`_reduced_columns`."""
    from tasks.report.rows import METRICS_READ, REPRODUCIBILITY_READ, TREND_READ

    values = reader.json(packed)
    out = []
    for paths in (METRICS_READ, TREND_READ, REPRODUCIBILITY_READ):
        kind, nonempty, *rest = values[: 2 + len(paths)]
        values = values[2 + len(paths) :]
        out.append(_column(kind, nonempty, paths, rest))
    metrics, trend, reproducibility = out
    return metrics, reader.json(gates), trend, reproducibility


def report_records(reader: _Reader, quarter: str | None) -> list[DecisionRecord]:
    """``tasks.report.reader.report_records`` over the driver.

    Each workload's latest decision is found through the unique (workload, quarter) index
    (the regular reader's join on the grouped maximum quarter selects the same rows).
    """
    if quarter is None:
        decision = (
            "d.id = (SELECT l.id FROM decisions AS l WHERE l.workload_id = w.id "
            "AND l.quarter IS NOT NULL ORDER BY l.quarter DESC LIMIT 1)"
        )
        params: tuple[str, ...] = ()
    else:
        decision = "d.workload_id = w.id AND d.quarter = ?"
        params = (quarter,)
    rows = reader.rows(
        f"SELECT {_WORKLOAD_COLUMNS}, d.id, d.quarter, d.verdict, "
        f"{_reduced_columns(reader.postgres)} FROM workloads AS w "
        f"LEFT OUTER JOIN decisions AS d ON {decision}"
        f"{_POSTGRES_DETOASTED if reader.postgres else ''} "
        "WHERE w.archived_at IS NULL ORDER BY w.name",
        params,
    )
    return _records(reader, rows, lambda columns: _unpacked(reader, *columns))


def history_records(reader: _Reader, workload: str) -> tuple[str, list[DecisionRecord]]:
    """The workload's case and ``tasks.report.reader.history_records`` over the driver."""
    found = reader.rows('SELECT id, "case" FROM workloads WHERE name = ?', (workload,))
    if len(found) != 1:
        raise Declined("no such workload")  # the regular path says so
    workload_id, case = found[0]
    rows = reader.rows(
        f"SELECT {_WORKLOAD_COLUMNS}, d.id, d.quarter, d.verdict, {_FULL_COLUMNS} "
        "FROM workloads AS w JOIN decisions AS d ON d.workload_id = w.id "
        "WHERE w.id = ? ORDER BY d.quarter",
        (workload_id,),
    )
    return _known(case, CASES), _records(
        reader, rows, lambda columns: tuple(reader.json(c) for c in columns)
    )


def _known(value: Any, allowed: frozenset[str]) -> str:
    """A stored enum value the ORM would accept, as a string."""
    if value not in allowed:
        raise Declined(f"stored value {value!r}")
    return str(value)


def _records(
    reader: _Reader, rows: list[Any], decode: Callable[[Sequence[Any]], Sequence[Any]]
) -> list[DecisionRecord]:
    """``tasks.report.reader._record_of_row`` over each row; ``decode`` gives the metrics,
    gates, trend and reproducibility of a row's last columns."""
    notices = _notices(reader, [r[5] for r in rows if r[5] is not None])
    out = []
    for name, case, owner, volume, adopted, decision_id, quarter, verdict, *columns in rows:
        if volume is not None and (isinstance(volume, bool) or not isinstance(volume, int)):
            raise Declined("volume")
        base: dict[str, Any] = {
            "workload": name,
            "case": _known(case, CASES),
            "owner_email": owner,
            "volume_per_day": None if volume is None else float(volume),
            "adopted_quarter": adopted,
        }
        if decision_id is None:
            out.append(DecisionRecord(**base))
            continue
        metrics, gates, trend, reproducibility = decode(columns)
        notice = notices.get(decision_id)
        out.append(
            DecisionRecord(
                **base,
                quarter=quarter,
                verdict=_known(verdict, VERDICTS),
                metrics=metrics or {},
                gates=gates if isinstance(gates, list) else [],
                trend=trend or {},
                reproducibility=reproducibility or {},
                notice_kind=notice[0] if notice else None,
                notice_status=notice[1] if notice else None,
            )
        )
    return out


def _notices(reader: _Reader, decision_ids: list[int]) -> dict[int, tuple[str, str]]:
    """``decision id -> (kind, status)`` of the first notice each decision enqueued."""
    found: dict[int, tuple[str, str]] = {}
    chunk = 500
    for start in range(0, len(decision_ids), chunk):
        ids = decision_ids[start : start + chunk]
        marks = ", ".join("?" for _ in ids)
        for decision_id, kind, status in reader.rows(
            f"SELECT decision_id, kind, status FROM notices WHERE decision_id IN ({marks}) "
            "ORDER BY id",
            ids,
        ):
            pair = (_known(kind, NOTICE_KINDS), _known(status, NOTICE_STATUSES))
            found.setdefault(decision_id, pair)
    return found


# --- the commands -------------------------------------------------------------------------


def _produce(request: Request, url: str) -> Callable[[], None]:
    """Read and build everything; return what writes it (nothing is written before)."""
    from relitigate.cli.report_view import now_iso

    if request.plot is not None:
        from tasks.report.output import check_writable

        check_writable(request.plot)
    reader = _Reader(url)
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
