"""The decisions table behind ``relitigate report`` (registry reads only)."""

from __future__ import annotations

from typing import Any


def decisions_rows(quarter: str | None) -> list[dict[str, Any]]:
    """One row per workload for ``quarter`` (default: each workload's latest decision)."""
    from sqlalchemy import select

    from registry.db import make_engine, session_factory
    from registry.models import Decision, Notice, Workload
    from relitigate.settings import load_settings

    factory = session_factory(make_engine(load_settings().resolved_database_url()))
    with factory() as session:
        query = select(Decision, Workload).join(Workload, Decision.workload_id == Workload.id)
        if quarter:
            query = query.where(Decision.quarter == quarter)
        latest: dict[str, tuple[Decision, Workload]] = {}
        for decision, workload in session.execute(query.order_by(Decision.quarter)):
            latest[workload.name] = (decision, workload)
        notices = {
            n.decision_id: n
            for n in session.scalars(
                select(Notice).where(Notice.decision_id.in_([d.id for d, _ in latest.values()]))
            )
        }
        return [_row(d, w, notices.get(d.id)) for d, w in sorted(latest.values(), key=_name)]


def _name(pair: tuple[Any, Any]) -> str:
    return str(pair[1].name)


def _row(decision: Any, workload: Any, notice: Any) -> dict[str, Any]:
    m = decision.metrics or {}
    ratio = m.get("ratio") or {}
    money = m.get("money") or {}
    failed = [g.get("name") for g in (decision.gates or []) if g.get("status") == "fail"]
    return {
        "workload": workload.name,
        "quarter": decision.quarter,
        "verdict": decision.verdict.value,
        "ratio": ratio.get("value"),
        "ratio_low": ratio.get("low"),
        "ratio_high": ratio.get("high"),
        "fine_tune_cost_per_useful_task_usd": (m.get("fine_tune") or {}).get(
            "cost_per_useful_task_usd"
        ),
        "buy_cost_per_useful_task_usd": (m.get("buy") or {}).get("cost_per_useful_task_usd"),
        "net_monthly_savings_usd": money.get("net_monthly_savings_usd"),
        "failed_gates": failed,
        "projected_erosion_quarter": (decision.trend or {}).get("projected_erosion_quarter"),
        "notice": None if notice is None else f"{notice.kind.value}:{notice.status.value}",
    }


def print_decisions(rows: list[dict[str, Any]]) -> None:
    """The rows as a rich table."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="relitigate: decisions")
    for col in ("workload", "quarter", "verdict", "ratio [95% CI]", "$/useful task FT | buy",
                "net savings/mo", "failed gates", "erosion", "notice"):  # fmt: skip
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["workload"],
            r["quarter"],
            r["verdict"],
            _ci(r["ratio"], r["ratio_low"], r["ratio_high"]),
            f"{_usd(r['fine_tune_cost_per_useful_task_usd'])} | "
            f"{_usd(r['buy_cost_per_useful_task_usd'])}",
            _usd(r["net_monthly_savings_usd"], digits=0),
            ", ".join(r["failed_gates"]),
            r["projected_erosion_quarter"] or "",
            r["notice"] or "",
        )
    Console().print(table)


def _ci(value: float | None, low: float | None, high: float | None) -> str:
    if value is None:
        return "n/a"
    if low is None or high is None:
        return f"{value:.3f}"
    return f"{value:.3f} [{low:.3f}, {high:.3f}]"


def _usd(value: float | None, *, digits: int = 6) -> str:
    if value is None:
        return "n/a"
    return f"${value:,.{digits}f}"
