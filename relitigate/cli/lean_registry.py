"""The registry as the fast path reads it: no ORM, the database driver straight.

:mod:`relitigate.cli.lean_read` serves ``report`` and ``history`` from what these functions
read: the registry URL resolved as the settings resolve it (:func:`database_url`), then the
decisions as :class:`~tasks.report.records.DecisionRecord` (:func:`report_records`,
:func:`history_records`) through one read-only connection (the standard library's
``sqlite3``, or ``psycopg``). Anything they cannot mirror exactly raises :class:`Declined`,
and the typer application then handles the command as before.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
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


class Declined(Exception):
    """The fast path does not serve this command; the typer application will."""


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


class Reader:
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


def _unpacked(reader: Reader, packed: Any, gates: Any) -> tuple[Any, Any, Any, Any]:
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


def report_records(reader: Reader, quarter: str | None) -> list[DecisionRecord]:
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


def history_records(reader: Reader, workload: str) -> tuple[str, list[DecisionRecord]]:
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
    reader: Reader, rows: list[Any], decode: Callable[[Sequence[Any]], Sequence[Any]]
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


def _notices(reader: Reader, decision_ids: list[int]) -> dict[int, tuple[str, str]]:
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
