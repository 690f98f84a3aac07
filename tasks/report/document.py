"""The versioned JSON documents of ``relitigate report`` and ``relitigate history``.

The shapes are documented in ``docs/report-schema.md``. Within one ``schema_version``
fields are only ever added; renaming or removing one bumps the version. Built from plain
rows (:mod:`tasks.report.rows`): no pandas.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tasks.report.rows import Row, totals

REPORT_SCHEMA = "relitigate.report"
HISTORY_SCHEMA = "relitigate.history"
SCHEMA_VERSION = 1


def report_document(
    report: Sequence[Row], *, quarter: str | None, generated_at: str
) -> dict[str, Any]:
    """``{"schema", "schema_version", "generated_at", "quarter", "totals", "workloads"}``.

    Args:
        report: one row per workload (:func:`tasks.report.rows.latest_per_workload`).
        quarter: the quarter asked for; None means each workload's latest decision.
        generated_at: ISO 8601 timestamp (passed in: this module reads no clock).
    """
    return {
        "schema": REPORT_SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "generated_at": generated_at,
        "quarter": quarter,
        "totals": totals(report),
        "workloads": list(report),
    }


def history_document(
    history: Sequence[Row], *, workload: str, case: str, generated_at: str
) -> dict[str, Any]:
    """``{"schema", "schema_version", "generated_at", "workload", "case", "quarters"}``.

    ``history`` is :func:`tasks.report.rows.decision_rows` of one workload; ``quarters``
    holds one report row per decided quarter, oldest first.
    """
    return {
        "schema": HISTORY_SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "generated_at": generated_at,
        "workload": workload,
        "case": case,
        "quarters": [r for r in history if r["quarter"] is not None],
    }
