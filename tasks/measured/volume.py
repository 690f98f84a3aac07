"""Read a workload's calls per day from its source: SQL, Prometheus or a CSV of daily counts.

:func:`read_volume` never raises for a source that cannot be read: the reading carries the
reason instead (the volume gate is then unknown, so the verdict is at most ``watch``). The
description of the source never holds a URL read from a secret.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx
import pandas as pd
from pydantic import ValidationError

from tasks.credentials import BlockLoader
from tasks.decision.measured_volume import MeasuredVolume
from tasks.measured.secrets import SourceUnreadableError, source_url
from tasks.redaction import scrub
from vocabulary.measured import CsvVolume, PrometheusSource, SqlSource, VolumeSource

SECONDS_PER_DAY = 86_400
TIMEOUT_S = 10.0


def describe(source: VolumeSource) -> str:
    """The source in words, without secrets."""
    if source.sql is not None:
        return source.sql.describe()
    if source.prometheus is not None:
        return f"prometheus {source.prometheus.url} `{source.prometheus.query}`"
    assert source.csv is not None
    return f"csv {source.csv.path} column {source.csv.column!r}"


def read_volume(
    stored: Mapping[str, Any],
    *,
    now: datetime,
    environ: Mapping[str, str] | None = None,
    load_block: BlockLoader | None = None,
    transport: httpx.BaseTransport | None = None,
) -> MeasuredVolume:
    """One reading of the stored source (``workloads.measured_sources["volume"]``).

    Args:
        stored: the source as the registry keeps it (a file's path absolute).
        now: when the reading is taken (recorded with it).
        environ: where ``url_env`` is read; default the process environment.
        load_block: Secret block loader; default Prefect's when a Prefect API is at hand.
        transport: httpx transport for Prometheus (tests); default the network.
    """
    try:
        source = VolumeSource.model_validate(dict(stored))
    except ValidationError as exc:
        return MeasuredVolume(None, "volume source", now, error=_short(exc))
    where = describe(source)
    try:
        if source.sql is not None:
            value, note = _sql(source.sql, environ=environ, load_block=load_block)
        elif source.prometheus is not None:
            value, note = _prometheus(source.prometheus, transport=transport)
        else:
            assert source.csv is not None
            value, note = _csv(source.csv)
    except Exception as exc:  # an unreadable source is a reading, never a crash
        return MeasuredVolume(None, where, now, error=_short(exc))
    if not math.isfinite(value) or value < 0:
        return MeasuredVolume(None, where, now, error=f"read {value!r}, not a count >= 0")
    return MeasuredVolume(value, f"{where} ({note})", now)


def _short(exc: Exception) -> str:
    text = scrub(str(exc)).strip().splitlines()
    first = text[0] if text else ""
    name = "" if isinstance(exc, SourceUnreadableError) else f"{type(exc).__name__}: "
    return (name + first)[:300]


def _sql(
    source: SqlSource, *, environ: Mapping[str, str] | None, load_block: BlockLoader | None
) -> tuple[float, str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(
        source_url(source, environ=environ, load_block=load_block), poolclass=NullPool
    )
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(source.query)).all()
    finally:
        engine.dispose()
    if not rows:
        raise SourceUnreadableError("the query returned no rows")
    if len(rows) == 1:
        return _number(rows[0][-1]), "one value"
    values = [_number(r[-1]) for r in rows]
    return sum(values) / len(values), f"mean of {len(values)} daily rows"


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise SourceUnreadableError(f"the query returned {value!r}, not a number") from None


def _prometheus(
    source: PrometheusSource, *, transport: httpx.BaseTransport | None
) -> tuple[float, str]:
    with httpx.Client(transport=transport, timeout=TIMEOUT_S) as client:
        reply = client.get(f"{source.url.rstrip('/')}/api/v1/query", params={"query": source.query})
    reply.raise_for_status()
    body = reply.json()
    if body.get("status") != "success":
        raise SourceUnreadableError(f"Prometheus answered {body.get('error', body)!r}")
    data = body["data"]
    if data["resultType"] == "scalar":
        value = float(data["result"][1])
    elif data["resultType"] == "vector":
        if not data["result"]:
            raise SourceUnreadableError("the query returned no series")
        value = sum(float(series["value"][1]) for series in data["result"])
    else:
        raise SourceUnreadableError(f"result type {data['resultType']!r}: use an instant vector")
    if source.per == "second":
        return value * SECONDS_PER_DAY, "per-second rate x 86,400"
    return value, "calls per day"


def _csv(source: CsvVolume) -> tuple[float, str]:
    frame = pd.read_csv(source.path, usecols=[source.date_column, source.column])
    dates = pd.to_datetime(frame[source.date_column], format="ISO8601")
    counts = pd.to_numeric(frame[source.column], errors="coerce")
    daily = pd.Series(counts.to_numpy(), index=dates).dropna().groupby(level=0).sum()
    if daily.empty:
        raise SourceUnreadableError(f"no daily counts in column {source.column!r}")
    newest = daily.index.max()
    window = daily[daily.index > newest - pd.Timedelta(days=source.days)]
    span = f"{window.index.min():%Y-%m-%d} to {newest:%Y-%m-%d}"
    short = "" if len(window) >= source.days else f", only {len(window)} of {source.days} days"
    return float(window.mean()), f"mean of {len(window)} days, {span}{short}"
