"""Every volume source read for real: SQL against PostgreSQL (a litellm spend-log table), a
loopback Prometheus-compatible endpoint, a CSV of daily counts; and each way one can fail,
which is a reading with a reason, never an exception."""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import create_engine, text

from tasks.measured.volume import read_volume

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
PG_URL = os.environ.get("RELITIGATE_TEST_POSTGRES_URL")
SPEND_QUERY = """
SELECT date_trunc('day', "startTime") AS day, count(*) AS calls
FROM {table}
WHERE "model" = 'triage-ft' AND "startTime" >= now() - interval '28 days'
GROUP BY 1 ORDER BY 1
"""


@pytest.fixture
def spend_logs() -> Iterator[str]:
    """A ``LiteLLM_SpendLogs``-shaped table in its own schema: 28 days of calls to the
    fine-tune (day d has 100 + d calls) and noise for another model."""
    if not PG_URL:
        if os.environ.get("RELITIGATE_TEST_REQUIRE_POSTGRES"):
            pytest.fail("RELITIGATE_TEST_POSTGRES_URL is required")
        pytest.skip("no PostgreSQL")
    schema = f"spend_{uuid.uuid4().hex[:8]}"
    table = f'"{schema}"."LiteLLM_SpendLogs"'
    engine = create_engine(PG_URL)
    start = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    rows = [
        {"id": f"r{d}-{i}", "t": start - timedelta(days=d), "model": "triage-ft"}
        for d in range(28)
        for i in range(100 + d)
    ] + [{"id": f"o{i}", "t": start, "model": "gpt-5"} for i in range(500)]
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        conn.execute(
            text(
                f'CREATE TABLE {table} ("request_id" text PRIMARY KEY, '
                '"startTime" timestamptz NOT NULL, "model" text NOT NULL, "spend" float)'
            )
        )
        conn.execute(
            text(
                f'INSERT INTO {table} ("request_id", "startTime", "model") VALUES (:id, :t, :model)'
            ),
            rows,
        )
    try:
        yield table
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def test_sql_source_reads_litellm_spend_logs_per_day(spend_logs: str) -> None:
    source = {"sql": {"url_env": "SPEND_DB_URL", "query": SPEND_QUERY.format(table=spend_logs)}}
    reading = read_volume(source, now=NOW, environ={"SPEND_DB_URL": PG_URL or ""})
    assert reading.error is None
    assert reading.value == pytest.approx(sum(100 + d for d in range(28)) / 28)
    assert reading.source == "sql (env SPEND_DB_URL) (mean of 28 daily rows)"
    assert reading.read_at == NOW


def test_sql_source_one_number_from_a_secret_block(spend_logs: str) -> None:
    query = (
        f"SELECT count(*)::float / 28 FROM {spend_logs} WHERE \"model\" = 'triage-ft' "
        "AND \"startTime\" >= now() - interval '28 days'"
    )
    blocks = {"spend-db": PG_URL}
    reading = read_volume(
        {"sql": {"url_secret": "spend-db", "query": query}}, now=NOW, load_block=blocks.get
    )
    assert reading.value == pytest.approx(sum(100 + d for d in range(28)) / 28)
    assert "secret block spend-db" in reading.source and "postgresql" not in reading.source


def test_sql_source_unreachable_names_no_password() -> None:
    url = "postgresql+psycopg://reader:hunter2-s3cret@127.0.0.1:1/spend"
    reading = read_volume(
        {"sql": {"url_env": "SPEND_DB_URL", "query": "select 1"}},
        now=NOW,
        environ={"SPEND_DB_URL": url},
    )
    assert reading.value is None and reading.error
    assert "hunter2" not in reading.error and "hunter2" not in reading.source


def test_sql_source_unset_variable_says_which() -> None:
    reading = read_volume(
        {"sql": {"url_env": "NOT_SET_ANYWHERE", "query": "select 1"}},
        now=NOW,
        environ={},
        load_block=lambda name: None,
    )
    assert reading.value is None and "NOT_SET_ANYWHERE" in (reading.error or "")


class _Prometheus(BaseHTTPRequestHandler):
    answers: ClassVar[dict[str, Any]] = {}
    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query).get("query", [""])[0]
        self.seen.append(query)
        body = self.answers.get(query)
        status = 200 if parts.path == "/api/v1/query" and body is not None else 400
        if body is None:
            body = {"status": "error", "errorType": "bad_data", "error": "parse error"}
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def prometheus() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Prometheus)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


RATE = 'sum(rate(vllm:request_success_total{model_name="triage-ft"}[28d]))'


def _vector(*values: float) -> dict[str, Any]:
    series = [
        {"metric": {"pod": f"p{i}"}, "value": [1764050400, str(v)]} for i, v in enumerate(values)
    ]
    return {"status": "success", "data": {"resultType": "vector", "result": series}}


def test_prometheus_rate_per_second_becomes_calls_per_day(prometheus: str) -> None:
    _Prometheus.answers = {RATE: _vector(100.0, 50.0)}
    reading = read_volume(
        {"prometheus": {"url": prometheus, "query": RATE, "per": "second"}}, now=NOW
    )
    assert reading.value == pytest.approx(150.0 * 86_400)
    assert RATE in _Prometheus.seen
    assert reading.source.startswith(f"prometheus {prometheus}")


def test_prometheus_error_and_empty_vector_are_unreadable(prometheus: str) -> None:
    _Prometheus.answers = {"empty": _vector()}
    empty = read_volume({"prometheus": {"url": prometheus, "query": "empty"}}, now=NOW)
    assert empty.value is None and "no series" in (empty.error or "")
    bad = read_volume({"prometheus": {"url": prometheus, "query": "rate(("}}, now=NOW)
    assert bad.value is None and "400" in (bad.error or "")


def test_csv_mean_of_the_last_28_days(tmp_path: Path) -> None:
    path = tmp_path / "calls.csv"
    days = [datetime(2026, 10, 1) + timedelta(days=i) for i in range(40)]
    # 12 early days at 1M, then 28 days at 12M: only the last 28 count.
    lines = ["date,calls"] + [
        f"{d:%Y-%m-%d},{1_000_000 if i < 12 else 12_000_000}" for i, d in enumerate(days)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    reading = read_volume({"csv": {"path": str(path)}}, now=NOW)
    assert reading.value == pytest.approx(12_000_000)
    assert "mean of 28 days, 2026-10-13 to 2026-11-09" in reading.source


def test_csv_missing_file_or_column_is_unreadable(tmp_path: Path) -> None:
    missing = read_volume({"csv": {"path": str(tmp_path / "none.csv")}}, now=NOW)
    assert missing.value is None and "none.csv" in (missing.error or "")
    path = tmp_path / "calls.csv"
    path.write_text("day,count\n2026-11-01,5\n", encoding="utf-8")
    wrong = read_volume({"csv": {"path": str(path), "column": "calls"}}, now=NOW)
    assert wrong.value is None and wrong.error
