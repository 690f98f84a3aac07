"""Text forms of a report: CSV, markdown, and the terminal table. Pure (strings out).

Only the CSV goes through pandas (imported when it is asked for); the markdown and terminal
tables are plain string formatting over the rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tasks.report.rows import LIST_COLUMNS, Row


def csv_text(report: Sequence[Row]) -> str:
    """The report as CSV (every column; list cells joined with ``; ``), written by pandas."""
    from tasks.report.frame import frame_of

    out = frame_of(report)
    for column in LIST_COLUMNS:
        out[column] = out[column].map(lambda v: "; ".join(v) if isinstance(v, list) else "")
    text: str = out.to_csv(index=False, float_format="%.10g", lineterminator="\n")
    return text


def ci(value: Any, low: Any, high: Any, *, digits: int = 3) -> str:
    """``0.911 [0.878, 0.944]``; ``n/a`` when there is no value."""
    if not _present(value):
        return "n/a"
    if not _present(low) or not _present(high):
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def usd(value: Any, *, digits: int | None = None) -> str:
    """Dollars: whole dollars for large sums, significant digits for per-task costs."""
    if not _present(value):
        return "n/a"
    sign = "-" if value < 0 else ""
    if digits is not None:
        return f"{sign}${abs(value):,.{digits}f}"
    if abs(value) >= 100:
        return f"{sign}${abs(value):,.0f}"
    return f"{sign}${abs(value):.3g}"


def _present(value: Any) -> bool:
    return isinstance(value, int | float) and value == value  # NaN != NaN


def display_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """The short, human columns of a report (terminal, markdown and HTML tables)."""
    out = []
    for r in rows:
        out.append(
            {
                "workload": str(r["workload"]),
                "quarter": r.get("quarter") or "",
                "verdict": r.get("verdict") or "no decision",
                "fine-tune quality": ci(
                    r["fine_tune_quality"], r["fine_tune_quality_low"], r["fine_tune_quality_high"]
                ),
                "buy quality": ci(r["buy_quality"], r["buy_quality_low"], r["buy_quality_high"]),
                "ratio": ci(r["quality_ratio"], r["quality_ratio_low"], r["quality_ratio_high"]),
                "$/useful task FT | buy": f"{usd(r['fine_tune_cost_per_useful_task_usd'])} | "
                f"{usd(r['buy_cost_per_useful_task_usd'])}",
                "net savings/month": usd(r["net_monthly_savings_usd"], digits=0),
                "failed gate": ", ".join(r.get("failed_gates") or []),
                "age (q)": ""
                if r["quarters_since_adoption"] is None
                else str(r["quarters_since_adoption"]),
                "erosion": r.get("projected_erosion_quarter") or "",
                "notice": _notice(r),
            }
        )
    return out


def _notice(row: Mapping[str, Any]) -> str:
    if not row.get("notice_kind"):
        return ""
    return f"{row['notice_kind']}: {row['notice_status']}"


def totals_line(totals: Mapping[str, Any]) -> str:
    """One sentence of totals."""
    v = totals["verdicts"]
    retire = totals["retire"]
    names = f" ({', '.join(retire[:5])}{', ...' if len(retire) > 5 else ''})" if retire else ""
    undecided = len(totals["undecided"])
    return (
        f"{totals['workloads']} workloads: {v['keep']} keep, {v['watch']} watch, "
        f"{v['retire']} retire, {v['inconclusive']} inconclusive"
        + (f", {undecided} undecided" if undecided else "")
        + f". Savings at stake: {usd(totals['savings_at_stake_monthly_usd'], digits=0)}/month"
        f" (watch + retire); fine-tunes to retire: {totals['fine_tunes_to_retire']}{names}."
        f" Net savings of all fine-tunes: {usd(totals['net_monthly_savings_usd'], digits=0)}"
        "/month."
    )


def markdown_text(document: Mapping[str, Any], *, title: str) -> str:
    """The report as a markdown table plus its totals."""
    rows = display_rows(document["workloads"])
    lines = [f"# {title}", "", totals_line(document["totals"]), ""]
    if rows:
        headers = list(rows[0])
        lines.append("| " + " | ".join(h.replace("|", "\\|") for h in headers) + " |")
        lines.append("|" + "|".join("---" for _ in headers) + "|")
        for row in rows:
            cells = (row[h].replace("|", "\\|") for h in headers)
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def text_table(rows: Sequence[Mapping[str, str]], *, title: str) -> str:
    """Rows as an aligned plain-text table (fast for thousands of rows, unlike rich)."""
    if not rows:
        return f"{title}\n(no decisions recorded)\n"
    headers = list(rows[0])
    widths = [max(len(h), *(len(r[h]) for r in rows)) for h in headers]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        cells = (row[h].ljust(w) for h, w in zip(headers, widths, strict=True))
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"
