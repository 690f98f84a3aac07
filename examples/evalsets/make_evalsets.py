"""Regenerate the example eval sets (deterministic: same output on every run).

    python examples/evalsets/make_evalsets.py

Writes ``ticket-triage.jsonl`` (240 support tickets -> a queue label) and
``contract-clauses.jsonl`` (220 contract excerpts -> a clause type, as chat messages). The
texts are synthetic, assembled from templates; they exist to exercise relitigate against the
provider simulator, not to measure any real model.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent

TRIAGE = {
    "billing": [
        "I was charged twice for my {plan} subscription this month.",
        "The invoice for order {n} shows the wrong VAT number.",
        "Please refund the {amount} EUR renewal fee, I cancelled before the renewal date.",
        "My card was declined but the {plan} plan still shows as unpaid.",
    ],
    "outage": [
        "The dashboard has returned HTTP 502 since {time} for our whole team.",
        "API calls to the {region} endpoint time out after {n} seconds.",
        "Nobody in our {region} office can log in since {time}.",
        "Webhooks stopped arriving at {time}; we lost {n} events.",
    ],
    "account": [
        "How do I transfer ownership of workspace {n} to a colleague?",
        "I need to change the email on my account after a name change.",
        "Please add {n} more seats to our {plan} plan.",
        "Two-factor codes are not accepted after I replaced my phone.",
    ],
    "bug": [
        "Exporting a report with more than {n} rows produces an empty CSV.",
        "The date picker shows {time} in UTC instead of my time zone.",
        "Search ignores accents: 'resume' does not find 'r\u00e9sum\u00e9' in project {n}.",
        "Dark mode renders the {plan} badge unreadable.",
    ],
    "feature_request": [
        "Could you add single sign-on for the {plan} tier?",
        "We would love an API to bulk-archive more than {n} projects.",
        "Please support exporting dashboards to PDF.",
        "Can the {region} data centre be selectable for new workspaces?",
    ],
}

CLAUSES = {
    "indemnification": [
        "{party} shall indemnify and hold harmless {other} from any third-party claim "
        "arising out of {subject}.",
        "Each party agrees to defend the other against losses caused by its breach of section {n}.",
    ],
    "limitation_of_liability": [
        "In no event shall {party}'s aggregate liability exceed the fees paid in the {n} "
        "months preceding the claim.",
        "Neither party is liable for indirect or consequential damages relating to {subject}.",
    ],
    "termination": [
        "{party} may terminate this Agreement on {n} days' written notice to {other}.",
        "Either party may end this Agreement immediately if the other materially breaches "
        "section {n} and fails to cure within thirty days.",
    ],
    "confidentiality": [
        "{other} shall not disclose Confidential Information about {subject} to any third "
        "party for {n} days after termination.",
        "The receiving party shall protect the disclosing party's information with at least "
        "reasonable care.",
    ],
    "governing_law": [
        "This Agreement is governed by the laws of {place}, without regard to conflict of "
        "laws principles.",
        "Disputes about {subject} under order form {n} shall be resolved exclusively in the "
        "courts of {place}.",
    ],
    "force_majeure": [
        "{party} is not liable for delay caused by events beyond its reasonable control, "
        "including {event}.",
        "Performance is suspended for as long as {event} prevents it, up to {n} days.",
    ],
}

FILL = {
    "plan": ["Starter", "Team", "Business", "Enterprise"],
    "region": ["eu-west", "us-east", "ap-south", "sa-east"],
    "time": ["08:15", "09:40", "13:05", "17:30", "22:10"],
    "amount": ["49", "120", "300", "1,250"],
    "party": ["the Supplier", "the Customer", "the Licensor", "the Contractor"],
    "other": ["the Client", "the Licensee", "the Company", "the Purchaser"],
    "subject": ["the Services", "the Software", "the Deliverables", "the Data"],
    "place": ["England and Wales", "the State of New York", "Ontario", "Singapore"],
    "event": ["flood", "pandemic", "war", "a general strike", "a regional power failure"],
}


def _fill(rng: random.Random, template: str) -> str:
    values = {key: rng.choice(options) for key, options in FILL.items()}
    values["n"] = str(rng.randint(2, 9999))
    text = template.format(**values)
    return text[0].upper() + text[1:]


def _unique_texts(
    rng: random.Random, table: dict[str, list[str]], count: int
) -> list[tuple[str, str]]:
    labels = sorted(table)
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    while len(out) < count:
        label = labels[len(out) % len(labels)]
        text = _fill(rng, rng.choice(table[label]))
        if text not in seen:
            seen.add(text)
            out.append((label, text))
    rng.shuffle(out)
    return out


def triage(count: int = 240) -> list[dict[str, object]]:
    """Support tickets -> queue label (text input)."""
    rng = random.Random(20260101)
    return [
        {
            "id": f"tt-{i:04d}",
            "input": text,
            "target": label,
            "metadata": {"channel": rng.choice(["email", "chat", "web"])},
        }
        for i, (label, text) in enumerate(_unique_texts(rng, TRIAGE, count), start=1)
    ]


def clauses(count: int = 220) -> list[dict[str, object]]:
    """Contract excerpts -> clause type (chat-message input)."""
    rng = random.Random(20260102)
    return [
        {
            "id": f"cc-{i:04d}",
            "input": [
                {"role": "user", "content": f"Classify this clause: {text}"},
            ],
            "target": label,
            "metadata": {"contract_type": rng.choice(["MSA", "NDA", "SaaS", "licence"])},
        }
        for i, (label, text) in enumerate(_unique_texts(rng, CLAUSES, count), start=1)
    ]


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> None:
    """Write one JSON object per line, UTF-8."""
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def main() -> None:
    """Write both example eval sets next to this script."""
    write_jsonl(HERE / "ticket-triage.jsonl", triage())
    write_jsonl(HERE / "contract-clauses.jsonl", clauses())


if __name__ == "__main__":
    main()
