"""The committed example notice matches what the code renders today."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

from tasks.notify import build_digest_payload, build_payload, payload_as_text

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "notice"


def test_committed_examples_are_current() -> None:
    script = runpy.run_path(str(EXAMPLE / "render_example.py"))
    payloads = {
        "retire": build_payload(script["FACTS"]),
        "digest": build_digest_payload(script["DIGEST"]),
    }
    for name, payload in payloads.items():
        assert json.loads((EXAMPLE / f"{name}.json").read_text(encoding="utf-8")) == payload, (
            "regenerate with: .venv/bin/python examples/notice/render_example.py"
        )
        assert (EXAMPLE / f"{name}.txt").read_text(encoding="utf-8") == payload_as_text(payload)
