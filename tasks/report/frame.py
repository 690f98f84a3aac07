"""Report tables as pandas DataFrames: plain records in, DataFrames out, no I/O.

:func:`decisions_frame` flattens decision records into one row each with the columns in
:data:`COLUMNS` (the report's row schema, documented in ``docs/report-schema.md``);
:func:`latest_per_workload` keeps one row per workload; :func:`totals` sums a report.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from tasks.report.records import DecisionRecord

if TYPE_CHECKING:
    import pandas as pd

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
)
"""Every report row's fields, in display order."""

LIST_COLUMNS = ("failed_gates", "reasons")
INT_COLUMNS = ("n_items", "quarters_since_adoption", "quarters_to_erosion")


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


def flatten(record: DecisionRecord) -> dict[str, Any]:
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
    row: dict[str, Any] = {
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
    }
    return row


def decisions_frame(records: Iterable[DecisionRecord]) -> pd.DataFrame:
    """One row per record, columns :data:`COLUMNS`, sorted by workload then quarter."""
    import pandas as pd

    frame = pd.DataFrame([flatten(r) for r in records], columns=list(COLUMNS))
    for column in INT_COLUMNS:
        frame[column] = frame[column].astype("Int64")
    if frame.empty:
        return frame
    return frame.sort_values(["workload", "quarter"], na_position="first", kind="stable")


def latest_per_workload(decisions: pd.DataFrame, quarter: str | None = None) -> pd.DataFrame:
    """One row per workload: its decision in ``quarter``, or its latest one.

    A workload with no decision (in ``quarter``) keeps one row with an empty verdict.
    Rows are ordered by urgency (retire, watch, inconclusive, keep, none), then name.
    """
    frame = decisions
    if quarter is not None:
        decided = frame[frame["quarter"] == quarter]
        missing = sorted(set(frame["workload"]) - set(decided["workload"]))
        blank = frame[frame["workload"].isin(missing)].drop_duplicates("workload", keep="last")
        blank = _blank_decision(blank)
        frame = _concat(decided, blank)
    else:
        frame = frame.sort_values(["workload", "quarter"], na_position="first", kind="stable")
        frame = frame.drop_duplicates("workload", keep="last")
    return order_by_urgency(frame)


def _concat(first: pd.DataFrame, second: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    if second.empty:
        return first
    if first.empty:
        return second
    return pd.concat([first, second], ignore_index=True)


def _blank_decision(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of workloads that have no decision: keep who they are, blank the rest."""
    keep = {"workload", "case", "owner_email", "volume_per_day", "fine_tune"}
    out = frame.copy()
    for column in COLUMNS:
        if column in keep:
            continue
        if column in LIST_COLUMNS:
            out[column] = [[] for _ in range(len(out))]
        else:
            out[column] = None
    for column in INT_COLUMNS:
        out[column] = out[column].astype("Int64")
    return out


def order_by_urgency(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows ordered retire, watch, inconclusive, keep, undecided; then by workload."""
    rank = {v: i for i, v in enumerate(VERDICT_ORDER)}
    key = frame["verdict"].map(lambda v: rank.get(v, len(rank)) if isinstance(v, str) else 99)
    return (
        frame.assign(_rank=key)
        .sort_values(["_rank", "workload"], kind="stable")
        .drop(columns="_rank")
        .reset_index(drop=True)
    )


def totals(report: pd.DataFrame) -> dict[str, Any]:
    """The report's totals (see ``docs/report-schema.md``).

    - ``net_monthly_savings_usd``: what every decided fine-tune saves per month, summed.
    - ``savings_at_stake_monthly_usd``: the positive monthly savings of fine-tunes whose
      verdict is ``watch`` or ``retire``: money the platform stops saving when they go.
    - ``fine_tunes_to_retire``: workloads whose verdict is ``retire``.
    """
    verdicts = report["verdict"]
    savings = report["net_monthly_savings_usd"].astype("float64")
    at_risk = verdicts.isin(["watch", "retire"])
    counts = {v: int((verdicts == v).sum()) for v in ("keep", "watch", "retire", "inconclusive")}
    undecided = report.loc[verdicts.isna(), "workload"]
    retire = report.loc[verdicts == "retire", "workload"]
    return {
        "workloads": len(report),
        "verdicts": counts,
        "undecided": [str(w) for w in undecided],
        "net_monthly_savings_usd": round(float(savings.fillna(0.0).sum()), 2),
        "savings_at_stake_monthly_usd": round(
            float(savings[at_risk].clip(lower=0.0).fillna(0.0).sum()), 2
        ),
        "fine_tunes_to_retire": len(retire),
        "retire": sorted(str(w) for w in retire),
        "notices_pending": int((report["notice_status"] == "pending").sum()),
    }


def records_of(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The frame's rows as JSON-ready dicts: NaN and NA become None, numpy scalars Python."""
    out: list[dict[str, Any]] = []
    columns = list(frame.columns)
    for values in frame.itertuples(index=False, name=None):
        out.append({c: plain(v) for c, v in zip(columns, values, strict=True)})
    return out


def plain(value: Any) -> Any:
    """A pandas/numpy cell as a plain JSON value."""
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, str | bool):
        return value
    if hasattr(value, "item") and not isinstance(value, int | float):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, int):
        return value
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value
