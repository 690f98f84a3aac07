"""How ``relitigate run`` and ``relitigate demo`` show what sequential evaluation saved."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tasks.decide import DecisionSummary


def frontier_calls(row: DecisionSummary) -> str:
    """``200/400 (stopped)``: the items the buys were called on out of the eval set's, per
    buy; empty when the decision had no sequential looks (or was reused from before)."""
    use = row.sequential
    if not use:
        return ""
    called = use.get("buy_items") or {}
    most = max((int(n) for n in called.values()), default=0)
    stop = f"stopped at wave {use['stopped_at_wave']}" if use.get("stopped_at_wave") else "full"
    return f"{most}/{use.get('items_total')} ({stop})"


def saving_sentence(rows: Sequence[DecisionSummary]) -> str | None:
    """One line over the decisions just taken: frontier calls made against a full run's and
    the spend saved; None when none used sequential evaluation."""
    used = [r.sequential for r in rows if r.sequential and not r.reused]
    if not used:
        return None
    called = sum(sum(int(n) for n in (u.get("buy_items") or {}).values()) for u in used)
    full = sum(int(u["items_total"]) * max(1, len(u.get("buy_items") or {})) for u in used)
    saved = sum(float(u.get("saved_usd") or 0.0) for u in used)
    stopped = sum(1 for u in used if u.get("stopped_at_wave"))
    return (
        f"Sequential evaluation: {stopped} of {len(used)} decision(s) settled early; the buy "
        f"alternatives were called on {called:,} of a full run's {full:,} items "
        f"({100 * called / full:.0f}%), saving about ${saved:,.4f} of frontier spend."
    )
