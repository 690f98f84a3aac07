"""Terminal views and registry sessions behind ``report``, ``history`` and ``routing``.

Everything heavy (sqlalchemy, pandas, matplotlib) is imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@contextmanager
def registry_session() -> Iterator[Session]:
    """A read-only unit of work on the configured registry (rolled back at the end); an
    unreachable, empty or outdated registry raises DatabaseError first."""
    from tasks.context import opened

    with opened() as ctx, ctx.sessions() as session:
        yield session


def now_iso() -> str:
    """The current time, UTC, to the second."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def print_report(document: Mapping[str, Any], *, title: str) -> None:
    """The report as an aligned text table plus its totals."""
    import sys

    from tasks.report.render import display_rows, text_table, totals_line

    sys.stdout.write(text_table(display_rows(document["workloads"]), title=title))
    sys.stdout.write(totals_line(document["totals"]) + "\n")


def history_rows(quarters: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """One display row per decided quarter."""
    from tasks.report.render import ci, usd

    out = []
    for q in quarters:
        out.append(
            {
                "quarter": str(q["quarter"]),
                "verdict": str(q["verdict"]),
                "fine-tune quality": ci(
                    q["fine_tune_quality"], q["fine_tune_quality_low"], q["fine_tune_quality_high"]
                ),
                "buy quality": ci(q["buy_quality"], q["buy_quality_low"], q["buy_quality_high"]),
                f"{q['advantage_metric']} (threshold)": ci(
                    q["advantage"], q["advantage_low"], q["advantage_high"]
                )
                + ("" if q["advantage_threshold"] is None else f" ({q['advantage_threshold']:g})"),
                "$/useful task FT | buy": f"{usd(q['fine_tune_cost_per_useful_task_usd'])} | "
                f"{usd(q['buy_cost_per_useful_task_usd'])}",
                "net savings/month": usd(q["net_monthly_savings_usd"], digits=0),
                "failed gate": ", ".join(q["failed_gates"]),
                "erosion": q["projected_erosion_quarter"] or "",
                "notice": f"{q['notice_kind']}: {q['notice_status']}" if q["notice_kind"] else "",
            }
        )
    return out


def print_history(document: Mapping[str, Any]) -> None:
    """A workload's decisions as an aligned text table."""
    import sys

    from tasks.report.render import text_table

    rows = history_rows(document["quarters"])
    title = f"relitigate: history of {document['workload']} ({document['case']})"
    sys.stdout.write(text_table(rows, title=title))
