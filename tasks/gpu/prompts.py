"""A plain-text prompt for tokenizers that have no chat template."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def plain_prompt(messages: Sequence[Mapping[str, Any]]) -> str:
    """``System: ...`` / ``User: ...`` / ``Assistant: ...`` lines, ending with ``Assistant:``."""
    lines = [f"{str(m.get('role', 'user')).capitalize()}: {m.get('content', '')}" for m in messages]
    lines.append("Assistant:")
    return "\n".join(lines)
