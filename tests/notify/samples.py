"""Sample notice facts for tests."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tasks.notify import (
    GateFacts,
    Interval,
    NoticeFacts,
    OwnerDestinations,
    SideFacts,
    TrendFacts,
    build_payload,
)


def retire_facts(**changes: Any) -> NoticeFacts:
    """A ``retire`` decision for ``ticket-triage`` in 2026Q4."""
    facts = NoticeFacts(
        workload="ticket-triage",
        quarter="2026Q4",
        verdict="retire",
        case="cost_distillation",
        quality_ratio=0.912,
        quality_ratio_ci=Interval(0.884, 0.941),
        finetune=SideFacts(
            model="hosted_vllm/triage-distil-8b",
            quality=0.804,
            quality_ci=Interval(0.779, 0.828),
            cost_per_useful_task=0.00041,
        ),
        buy=SideFacts(
            model="openai/gpt-5-mini",
            quality=0.882,
            quality_ci=Interval(0.861, 0.902),
            cost_per_useful_task=0.00037,
        ),
        monthly_savings_usd=-14_250.0,
        calls_per_day=12_000_000,
        failed_gates=(
            GateFacts("quality >= 95% of buy", "ratio 0.912 (95% CI 0.884–0.941) < 0.95"),
            GateFacts("net savings > 0", "−$14,250/month at 12,000,000 calls/day"),
        ),
        recommended_action=(
            "Switch ticket-triage to openai/gpt-5-mini and decommission the fine-tune's "
            "serving capacity."
        ),
        trend=TrendFacts(quarters_since_adoption=6, projected_erosion_quarter="2026Q3"),
        memo_url="http://127.0.0.1:4200/artifacts/artifact/1b2c",
        flow_run_url="http://127.0.0.1:4200/runs/flow-run/9f8e",
        owner=OwnerDestinations(email="ana@example.com", channel="C0TRIAGE"),
    )
    return replace(facts, **changes)


def payload(**changes: Any) -> dict[str, Any]:
    """The Block Kit payload of :func:`retire_facts`."""
    return build_payload(retire_facts(**changes))
