"""How the simulator recognises which eval item a request is about.

Each eval set is a JSONL file of ``{"id": ..., "input": ..., "target": ...}`` lines (other
fields are ignored). An item's *key text* is its ``input`` when that is a string, or the
content of its last ``user`` message when ``input`` is a list of chat messages.

A request is matched on the content of its last ``user`` message:

1. exactly equal to an item's key text (the usual case: template ``{input}``), else
2. the longest key text contained in it (so templates such as ``"Ticket: {input}"`` work).

An unmatched request is still answered, with a deterministic wrong-looking text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class SimItem:
    """One eval item the simulator knows."""

    id: str
    target: str


def message_text(content: Any) -> str:
    """The text of a chat message's content (a string or a list of content parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return "" if content is None else str(content)


def last_user_text(messages: Sequence[Any]) -> str:
    """The content of the last ``user`` message, or '' when there is none."""
    for m in reversed(messages):
        if isinstance(m, Mapping) and m.get("role") == "user":
            return message_text(m.get("content"))
    return ""


class ItemIndex:
    """Key text -> item, with a bounded cache for substring matches."""

    _CACHE_MAX = 100_000

    def __init__(self, items: Iterable[tuple[str, SimItem]] = ()) -> None:
        self._exact: dict[str, SimItem] = {}
        self.targets: list[str] = []
        for text, item in items:
            self.add(text, item)
        self._cache: dict[str, SimItem | None] = {}

    def add(self, text: str, item: SimItem) -> None:
        """Register one item under its key text."""
        self._exact[text] = item
        self.targets.append(item.target)

    def __len__(self) -> int:
        return len(self._exact)

    def find(self, text: str) -> SimItem | None:
        """The item a user message is about (see the module docstring), or None."""
        hit = self._exact.get(text)
        if hit is not None or not text:
            return hit
        if text in self._cache:
            return self._cache[text]
        best: tuple[int, SimItem] | None = None
        for key, item in self._exact.items():
            if key and key in text and (best is None or len(key) > best[0]):
                best = (len(key), item)
        found = best[1] if best else None
        if len(self._cache) >= self._CACHE_MAX:
            self._cache.clear()
        self._cache[text] = found
        return found


def load_evalsets(paths: Iterable[str | Path]) -> ItemIndex:
    """Read JSONL eval sets into one index; a bad line fails with its file and line."""
    index = ItemIndex()
    for path in paths:
        with Path(path).open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    raw_input = row["input"]
                    text = raw_input if isinstance(raw_input, str) else last_user_text(raw_input)
                    index.add(text, SimItem(id=str(row["id"]), target=str(row["target"])))
                except (ValueError, KeyError, TypeError) as exc:
                    raise ValueError(
                        f"{path}:{lineno}: not an eval item ({exc!r}); each line needs "
                        '{"id": ..., "input": ..., "target": ...}'
                    ) from exc
    return index
