"""The versioned JSON documents of ``relitigate report`` and ``relitigate history``.

The shapes are documented in ``docs/report-schema.md``. Within one ``schema_version``
fields are only ever added; renaming or removing one bumps the version.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tasks.report.frame import records_of, totals

if TYPE_CHECKING:
    import pandas as pd

REPORT_SCHEMA = "relitigate.report"
HISTORY_SCHEMA = "relitigate.history"
SCHEMA_VERSION = 1


def report_document(
    report: pd.DataFrame, *, quarter: str | None, generated_at: str
) -> dict[str, Any]:
    """``{"schema", "schema_version", "generated_at", "quarter", "totals", "workloads"}``.

    Args:
        report: one row per workload (:func:`tasks.report.frame.latest_per_workload`).
        quarter: the quarter asked for; None means each workload's latest decision.
        generated_at: ISO 8601 timestamp (passed in: this module reads no clock).
    """
    return {
        "schema": REPORT_SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "generated_at": generated_at,
        "quarter": quarter,
        "totals": totals(report),
        "workloads": records_of(report),
    }


def history_document(
    history: pd.DataFrame, *, workload: str, case: str, generated_at: str
) -> dict[str, Any]:
    """``{"schema", "schema_version", "generated_at", "workload", "case", "quarters"}``.

    ``quarters`` holds one report row per decided quarter, oldest first.
    """
    decided = history[history["quarter"].notna()]
    return {
        "schema": HISTORY_SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "generated_at": generated_at,
        "workload": workload,
        "case": case,
        "quarters": records_of(decided),
    }
