"""The committed example notice matches what the code renders today."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

from tasks.notify import build_payload, payload_as_text

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "notice"


def test_committed_example_is_current() -> None:
    facts = runpy.run_path(str(EXAMPLE / "render_example.py"))["FACTS"]
    payload = build_payload(facts)
    assert json.loads((EXAMPLE / "retire.json").read_text(encoding="utf-8")) == payload, (
        "regenerate with: .venv/bin/python examples/notice/render_example.py"
    )
    assert (EXAMPLE / "retire.txt").read_text(encoding="utf-8") == payload_as_text(payload)
