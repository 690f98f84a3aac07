"""Report rows as plain dicts: records in, rows and totals out. Pure Python, no I/O.

:func:`flatten` turns one decision record into a row with exactly the keys of
:data:`COLUMNS` (the report's row schema, documented in ``docs/report-schema.md``);
:func:`decision_rows` sorts them; :func:`latest_per_workload` keeps one row per workload,
ordered by urgency; :func:`totals` sums a report.

Every value is already JSON-ready (``None`` for a missing or non-finite number, ``int`` for
counts), so the JSON document and the terminal table need no pandas: a report over a thousand
workloads is built in milliseconds and the command does not pay pandas' import.
:mod:`tasks.report.frame` turns these rows into a DataFrame for the CSV; the charts take the rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tasks.report.records import DecisionRecord

Row = dict[str, Any]
"""One report row: the keys of :data:`COLUMNS`, JSON-ready values."""

VERDICT_ORDER = ("retire", "watch", "inconclusive", "keep")
"""Verdicts in order of urgency (reports list the urgent ones first)."""

COLUMNS: tuple[str, ...] = (
    "workload",
    "case",
    "owner_email",
    "quarter",
    "verdict",
    "fine_tune",
    "buy",
    "buy_route",
    "n_items",
    "fine_tune_quality",
    "fine_tune_quality_low",
    "fine_tune_quality_high",
    "buy_quality",
    "buy_quality_low",
    "buy_quality_high",
    "quality_ratio",
    "quality_ratio_low",
    "quality_ratio_high",
    "advantage_metric",
    "advantage",
    "advantage_low",
    "advantage_high",
    "advantage_threshold",
    "fine_tune_cost_per_useful_task_usd",
    "buy_cost_per_useful_task_usd",
    "volume_per_day",
    "net_monthly_savings_usd",
    "failed_gates",
    "reasons",
    "quarters_since_adoption",
    "life_stage",
    "projected_erosion_quarter",
    "quarters_to_erosion",
    "notice_kind",
    "notice_status",
    "recommended_action",
    "eval_set_items",
    "stopped_at_wave",
    "frontier_calls_share",
    "frontier_spend_saved_usd",
)
"""Every report row's fields, in display order."""

LIST_COLUMNS = ("failed_gates", "reasons")
INT_COLUMNS = (
    "n_items",
    "quarters_since_adoption",
    "quarters_to_erosion",
    "eval_set_items",
    "stopped_at_wave",
)
IDENTITY_COLUMNS = frozenset({"workload", "case", "owner_email", "volume_per_day", "fine_tune"})
"""What a row without a decision keeps (who the workload is); the rest is blank."""


Path = tuple[str, ...]
"""Keys into a JSON column, outermost first."""

METRICS_READ: tuple[Path, ...] = (
    ("n_items",),
    ("reasons",),
    ("ratio",),
    ("difference",),
    ("sequential",),
    ("fine_tune", "name"),
    ("fine_tune", "quality"),
    ("fine_tune", "cost_per_useful_task_usd"),
    ("buy", "name"),
    ("buy", "route"),
    ("buy", "quality"),
    ("buy", "cost_per_useful_task_usd"),
    ("money", "volume_per_day"),
    ("money", "net_monthly_savings_usd"),
)
"""Every part of a decision's ``metrics`` that :func:`flatten` reads (a test checks): a
reader may fetch only these values and rebuild the column with :func:`reduced`."""
TREND_READ: tuple[Path, ...] = (
    ("metric",),
    ("threshold",),
    ("quarters_since_adoption",),
    ("life_stage",),
    ("projected_erosion_quarter",),
    ("quarters_to_erosion",),
)
"""Every part of a decision's ``trend`` that :func:`flatten` reads."""
REPRODUCIBILITY_READ: tuple[Path, ...] = (("recommended_action",),)
"""Every part of a decision's ``reproducibility`` that :func:`flatten` reads."""


def at_path(value: Any, path: Path) -> Any:
    """The value at ``path`` in a JSON value; None where a key is missing or a step is not
    an object (as SQLite's ``->`` and PostgreSQL's ``#>`` answer)."""
    return _get(value, *path)


def reduced(paths: Sequence[Path], values: Sequence[Any]) -> dict[str, Any]:
    """A non-empty JSON object column rebuilt from only ``values`` (:func:`at_path` of it at
    each of ``paths``): :func:`flatten` reads from it what it reads from the whole column.

    An empty, missing or null column is ``{}``, not this.
    """
    out: dict[str, Any] = {"": True}  # never read: keeps the rebuilt column non-empty
    for path, value in zip(paths, values, strict=True):
        *outer, last = path
        node = out
        for key in outer:
            node = node.setdefault(key, {})
        node[last] = value
    return out


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _int(value: Any) -> int | None:
    number = _num(value)
    return None if number is None else int(number)


def _get(mapping: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(mapping, Mapping):
            return None
        mapping = mapping.get(key)
    return mapping


def _quarter_gap(start: str | None, end: str | None) -> int | None:
    if not start or not end or len(start) != 6 or len(end) != 6:
        return None
    try:
        return (int(end[:4]) * 4 + int(end[5]) - 1) - (int(start[:4]) * 4 + int(start[5]) - 1)
    except ValueError:
        return None


def flatten(record: DecisionRecord) -> Row:
    """One decision record as a flat row with exactly the keys of :data:`COLUMNS`."""
    m = record.metrics or {}
    trend = record.trend or {}
    case = record.case
    ratio = _get(m, "ratio") or {}
    key = "ratio" if case == "cost_distillation" else "difference"
    advantage = _get(m, key) or {}
    age = _int(trend.get("quarters_since_adoption"))
    if age is None and record.quarter:
        age = _quarter_gap(record.adopted_quarter, record.quarter)
    volume = _num(_get(m, "money", "volume_per_day"))
    waves = _get(m, "sequential") or {}
    return {
        "workload": record.workload,
        "case": case,
        "owner_email": record.owner_email,
        "quarter": record.quarter,
        "verdict": record.verdict,
        "fine_tune": _get(m, "fine_tune", "name"),
        "buy": _get(m, "buy", "name"),
        "buy_route": _get(m, "buy", "route"),
        "n_items": _int(m.get("n_items")),
        "fine_tune_quality": _num(_get(m, "fine_tune", "quality", "value")),
        "fine_tune_quality_low": _num(_get(m, "fine_tune", "quality", "low")),
        "fine_tune_quality_high": _num(_get(m, "fine_tune", "quality", "high")),
        "buy_quality": _num(_get(m, "buy", "quality", "value")),
        "buy_quality_low": _num(_get(m, "buy", "quality", "low")),
        "buy_quality_high": _num(_get(m, "buy", "quality", "high")),
        "quality_ratio": _num(ratio.get("value")),
        "quality_ratio_low": _num(ratio.get("low")),
        "quality_ratio_high": _num(ratio.get("high")),
        "advantage_metric": trend.get("metric")
        or ("quality ratio" if key == "ratio" else "quality difference"),
        "advantage": _num(advantage.get("value")),
        "advantage_low": _num(advantage.get("low")),
        "advantage_high": _num(advantage.get("high")),
        "advantage_threshold": _num(trend.get("threshold")),
        "fine_tune_cost_per_useful_task_usd": _num(
            _get(m, "fine_tune", "cost_per_useful_task_usd")
        ),
        "buy_cost_per_useful_task_usd": _num(_get(m, "buy", "cost_per_useful_task_usd")),
        "volume_per_day": volume if volume is not None else _num(record.volume_per_day),
        "net_monthly_savings_usd": _num(_get(m, "money", "net_monthly_savings_usd")),
        "failed_gates": [
            str(g.get("name")) for g in record.gates or () if g.get("status") == "fail"
        ],
        "reasons": [str(r) for r in m.get("reasons") or ()],
        "quarters_since_adoption": age,
        "life_stage": trend.get("life_stage"),
        "projected_erosion_quarter": trend.get("projected_erosion_quarter"),
        "quarters_to_erosion": _int(trend.get("quarters_to_erosion")),
        "notice_kind": record.notice_kind,
        "notice_status": record.notice_status,
        "recommended_action": (record.reproducibility or {}).get("recommended_action"),
        "eval_set_items": _int(waves.get("items_total", m.get("n_items"))),
        "stopped_at_wave": _int(waves.get("stopped_at_wave")),
        "frontier_calls_share": _num(waves.get("share_called", 1.0 if m else None)),
        "frontier_spend_saved_usd": _num(waves.get("saved_usd", 0.0 if m else None)),
    }


def _by_workload_then_quarter(row: Row) -> tuple[str, bool, str]:
    """Sort key: workload, then quarter with undecided (no quarter) first."""
    quarter = row["quarter"]
    return (row["workload"], quarter is not None, quarter or "")


def decision_rows(records: Iterable[DecisionRecord]) -> list[Row]:
    """One row per record, sorted by workload then quarter (no quarter first; stable)."""
    return sorted((flatten(r) for r in records), key=_by_workload_then_quarter)


def blank_decision(row: Row) -> Row:
    """The row of a workload with no decision: who it is, empty lists, nothing else."""
    return {
        c: row[c] if c in IDENTITY_COLUMNS else [] if c in LIST_COLUMNS else None for c in COLUMNS
    }


def latest_per_workload(rows: Sequence[Row], quarter: str | None = None) -> list[Row]:
    """One row per workload: its decision in ``quarter``, or its latest one.

    A workload with no decision (in ``quarter``) keeps one row with an empty verdict. Rows
    are ordered by urgency (retire, watch, inconclusive, keep, none), then name.
    """
    rows = sorted(rows, key=_by_workload_then_quarter)
    last: dict[str, Row] = {}
    for row in rows:
        last[row["workload"]] = row  # the latest quarter comes last
    if quarter is None:
        return order_by_urgency(list(last.values()))
    decided = [r for r in rows if r["quarter"] == quarter]
    have = {r["workload"] for r in decided}
    blank = [blank_decision(last[w]) for w in sorted(set(last) - have)]
    return order_by_urgency(decided + blank)


def urgency(verdict: Any) -> int:
    """Rank of a verdict in :data:`VERDICT_ORDER` (unknown: after keep; none: last)."""
    if not isinstance(verdict, str):
        return 99
    return VERDICT_ORDER.index(verdict) if verdict in VERDICT_ORDER else len(VERDICT_ORDER)


def order_by_urgency(rows: Iterable[Row]) -> list[Row]:
    """Rows ordered retire, watch, inconclusive, keep, undecided; then by workload (stable)."""
    return sorted(rows, key=lambda r: (urgency(r["verdict"]), r["workload"]))


def totals(report: Sequence[Row]) -> dict[str, Any]:
    """The report's totals (see ``docs/report-schema.md``).

    - ``net_monthly_savings_usd``: what every decided fine-tune saves per month, summed.
    - ``savings_at_stake_monthly_usd``: the positive monthly savings of fine-tunes whose
      verdict is ``watch`` or ``retire``: money the platform stops saving when they go.
    - ``fine_tunes_to_retire``: workloads whose verdict is ``retire``.

    Sums are exact (:func:`math.fsum`), then rounded to the cent.
    """
    verdicts = [r["verdict"] for r in report]
    savings = [r["net_monthly_savings_usd"] for r in report]
    at_stake = (
        max(s, 0.0)
        for v, s in zip(verdicts, savings, strict=True)
        if v in ("watch", "retire") and s is not None
    )
    retire = [str(r["workload"]) for r in report if r["verdict"] == "retire"]
    return {
        "workloads": len(report),
        "verdicts": {v: verdicts.count(v) for v in ("keep", "watch", "retire", "inconclusive")},
        "undecided": [str(r["workload"]) for r in report if r["verdict"] is None],
        "net_monthly_savings_usd": round(math.fsum(s for s in savings if s is not None), 2),
        "savings_at_stake_monthly_usd": round(math.fsum(at_stake), 2),
        "fine_tunes_to_retire": len(retire),
        "retire": sorted(retire),
        "notices_pending": sum(1 for r in report if r["notice_status"] in ("pending", "sending")),
    }
