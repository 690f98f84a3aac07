from __future__ import annotations

import json

import pytest

from tasks.notify import DigestFacts, DigestLine, build_digest_payload, payload_as_text
from tasks.notify.facts import Interval, SideFacts, TrendFacts
from tasks.notify.message import build_payload, escape, fallback_text, usd
from tests.notify.samples import retire_facts


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "$0"),
        (0.00041, "$0.00041"),
        (0.000012345, "$0.0000123"),
        (0.5, "$0.50"),
        (0.0125, "$0.0125"),
        (12.5, "$12.50"),
        (14250, "$14,250"),
        (-14250, "−$14,250"),
        (-0.5, "−$0.50"),
    ],
)
def test_usd(value: float, text: str) -> None:
    assert usd(value) == text


def test_payload_is_json_with_text_and_blocks_within_slack_limits() -> None:
    payload = build_payload(retire_facts())
    assert set(payload) == {"text", "blocks"}
    json.dumps(payload)
    assert len(payload["blocks"]) <= 50
    header = payload["blocks"][0]
    assert header["type"] == "header" and len(header["text"]["text"]) <= 150
    for block in payload["blocks"]:
        if block["type"] == "section":
            assert len(block.get("fields", [])) <= 10
            assert len(block.get("text", {}).get("text", "")) <= 3000


def test_fallback_text_says_enough_to_act() -> None:
    text = fallback_text(retire_facts())
    for needle in [
        "Retire: ticket-triage",
        "2026Q4",
        "Quality ratio 0.91 (95% CI 0.88–0.94)",
        "fine-tune 0.804",
        "buy 0.882",
        "openai/gpt-5-mini",
        "fine-tune $0.00041",
        "buy $0.00037",
        "−$14,250/month at 12,000,000 calls/day: buying is cheaper",
        "quality >= 95% of buy",
        "6 quarters since adoption",
        "projected erosion: 2026Q3",
        "Recommended action: Switch ticket-triage",
        "http://127.0.0.1:4200/artifacts/artifact/1b2c",
        "http://127.0.0.1:4200/runs/flow-run/9f8e",
    ]:
        assert needle in text, needle


def test_preview_reads_like_the_message() -> None:
    text = payload_as_text(build_payload(retire_facts()))
    assert text.splitlines()[0] == "Retire: ticket-triage fine-tune (2026Q4)"
    assert "Quality ratio (fine-tune / buy):\n  0.91 (95% CI 0.88–0.94)" in text
    assert "Monthly savings at current volume:" in text
    assert "Failed gates" in text and "• quality >= 95% of buy: ratio 0.912" in text
    assert "Decision memo (http://127.0.0.1:4200/artifacts/artifact/1b2c)" in text
    assert "*" not in text and "<http" not in text and ":red_circle:" not in text


def test_positive_savings_and_missing_optional_facts() -> None:
    facts = retire_facts(
        verdict="watch",
        monthly_savings_usd=3200.0,
        calls_per_day=None,
        failed_gates=(),
        memo_url=None,
        flow_run_url=None,
        trend=TrendFacts(quarters_since_adoption=None, projected_erosion_quarter="2027Q2"),
        finetune=SideFacts("ft", 0.9, None, None),
    )
    payload = build_payload(facts)
    text = payload_as_text(payload)
    assert "Watch: ticket-triage fine-tune is eroding (2026Q4)" in text
    assert "erodes by 2027Q2" in text
    assert "$3,200/month saved by the fine-tune" in text
    assert "n/a (nothing passed)" in text
    assert "Failed gates" not in text and "Decision memo" not in text


def test_inconclusive_says_why_and_that_nothing_is_retired() -> None:
    facts = retire_facts(verdict="inconclusive", reason="41% of buy-side calls errored (429s)")
    text = fallback_text(facts)
    assert "No verdict this quarter: 41% of buy-side calls errored (429s)" in text
    assert "Nothing is retired" in text


def test_user_text_is_escaped_for_mrkdwn() -> None:
    facts = retire_facts(recommended_action="Use <b> & stop <!channel>")
    blob = json.dumps(build_payload(facts)["blocks"])
    assert "<!channel>" not in blob
    assert escape("<!channel> & co") == "&lt;!channel&gt; &amp; co"
    assert "Use <b> & stop <!channel>" in payload_as_text(build_payload(facts))


def test_long_text_is_clipped_to_slack_limits() -> None:
    facts = retire_facts(workload="w" * 400, recommended_action="x" * 5000)
    payload = build_payload(facts)
    assert len(payload["blocks"][0]["text"]["text"]) == 150
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in payload["blocks"])
    assert len(payload["text"]) <= 3900


def test_digest_lists_every_workload() -> None:
    digest = DigestFacts(
        quarter="2026Q4",
        lines=(
            DigestLine(
                "ticket-triage", "retire", 0.91, -14250.0, quality_ratio_ci=Interval(0.88, 0.94)
            ),
            DigestLine("contract-review", "watch", 1.04, 800.0, "2027Q2"),
            DigestLine("ocr-fix", "keep", 1.2, 5000.0),
        ),
    )
    payload = build_digest_payload(digest)
    text = payload_as_text(payload)
    assert text.startswith("relitigate digest 2026Q4: 1 keep, 1 retire, 1 watch")
    assert "ticket-triage: retire, ratio 0.91 (95% CI 0.88–0.94), savings −$14,250/month" in text
    assert "contract-review: watch, ratio 1.04, savings $800/month, erodes 2027Q2" in text
    assert "ticket-triage" in payload["text"]
