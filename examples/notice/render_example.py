"""Write a sample ``retire`` notice and a sample quarter digest: Block Kit JSON and text.

Run from the repository root::

    .venv/bin/python examples/notice/render_example.py

It writes ``retire.json`` (the ``chat.postMessage`` payload: ``text`` fallback plus
``blocks``; paste ``blocks`` into Slack's Block Kit Builder to see it rendered) and
``retire.txt`` (what ``relitigate notices --preview ID`` prints for it), and the same pair
for the quarter digest the platform channel gets (``digest.json``, ``digest.txt``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from tasks.notify import (  # noqa: E402
    DigestFacts,
    DigestLine,
    GateFacts,
    Interval,
    NoticeFacts,
    OwnerDestinations,
    SideFacts,
    TrendFacts,
    build_digest_payload,
    build_payload,
    payload_as_text,
)
from tasks.notify.facts import OpenLine  # noqa: E402

FACTS = NoticeFacts(
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
        "Switch ticket-triage to openai/gpt-5-mini and decommission the fine-tune's serving "
        "capacity."
    ),
    trend=TrendFacts(quarters_since_adoption=6, projected_erosion_quarter="2026Q3"),
    memo_url="http://127.0.0.1:4200/artifacts/artifact/1b2c",
    flow_run_url="http://127.0.0.1:4200/runs/flow-run/9f8e",
    owner=OwnerDestinations(email="ana@example.com", channel="C0TRIAGE"),
)

DIGEST = DigestFacts(
    quarter="2026Q4",
    lines=(
        DigestLine(
            "ticket-triage",
            "retire",
            quality_ratio=0.912,
            quality_ratio_ci=Interval(0.884, 0.941),
            monthly_savings_usd=-14_250.0,
        ),
        DigestLine(
            "contract-review",
            "watch",
            quality_ratio=1.041,
            quality_ratio_ci=Interval(1.012, 1.069),
            monthly_savings_usd=820.0,
            projected_erosion_quarter="2027Q2",
        ),
        DigestLine(
            "invoice-extract",
            "keep",
            quality_ratio=1.183,
            quality_ratio_ci=Interval(1.147, 1.221),
            monthly_savings_usd=5_310.0,
        ),
        DigestLine("claims-coding", "inconclusive"),
    ),
    flow_run_url="http://127.0.0.1:4200/runs/flow-run/7a6b",
    open_decisions=(
        OpenLine("ticket-triage", "2026Q3", "watch", "snooze", 92.0),
        OpenLine("claims-coding", "2026Q3", "retire", "open", 95.0),
    ),
)


def _write(name: str, payload: dict[str, object]) -> None:
    (HERE / f"{name}.json").write_text(
        json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (HERE / f"{name}.txt").write_text(payload_as_text(payload), encoding="utf-8")
    print(f"wrote {HERE / f'{name}.json'} and {HERE / f'{name}.txt'}")


def main() -> None:
    """Write retire.json, retire.txt, digest.json and digest.txt beside this script."""
    _write("retire", build_payload(FACTS))
    _write("digest", build_digest_payload(DIGEST))


if __name__ == "__main__":
    main()
