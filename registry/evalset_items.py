"""One eval-set item: its fields, how a record is validated, and the content hash.

An item has ``id`` (string or integer, unique), ``input`` (text, or a non-empty list of chat
messages ``{"role", "content"}``), ``target`` (any JSON value except null) and optional
``metadata`` (a JSON object). Reading the files is :mod:`registry.evalset_readers`.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

FIELDS = ("id", "input", "target", "metadata")
REQUIRED = ("id", "input", "target")
ROLES = frozenset({"system", "user", "assistant", "developer", "tool"})
MAX_KEY_LENGTH = 500
MAX_JSON_DEPTH = 64
"""Nesting of a target, a metadata value or a JSON cell."""


@dataclass(frozen=True, slots=True)
class ParsedItem:
    """One validated item, with where it came from."""

    key: str
    input: str | list[dict[str, Any]]
    target: Any
    metadata: dict[str, Any] = field(default_factory=dict)
    location: int = 0
    """Line (JSONL, CSV) or 0-based row (Parquet) of the item."""

    def canonical(self) -> dict[str, Any]:
        """The item as hashed and stored."""
        return {
            "id": self.key,
            "input": self.input,
            "target": self.target,
            "metadata": self.metadata,
        }


def content_hash(items: Sequence[ParsedItem]) -> str:
    """sha256 of the canonical JSON of ``items`` (order-preserving)."""
    digest = hashlib.sha256()
    digest.update(b"relitigate-evalset-v1\n")
    for item in items:
        line = json.dumps(
            item.canonical(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        digest.update(line.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


class ItemProblem(Exception):
    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _check_messages(value: list[Any]) -> list[dict[str, Any]]:
    if not value:
        raise ItemProblem("input", "empty chat message list")
    messages: list[dict[str, Any]] = []
    for i, message in enumerate(value):
        if not isinstance(message, Mapping):
            raise ItemProblem(f"input[{i}]", "a chat message must be an object {role, content}")
        unknown = set(message) - {"role", "content", "name"}
        if unknown:
            raise ItemProblem(f"input[{i}]", f"unknown message key(s) {sorted(unknown)}")
        role, content = message.get("role"), message.get("content")
        if role not in ROLES:
            raise ItemProblem(f"input[{i}].role", f"bad role {role!r} (one of {sorted(ROLES)})")
        if not isinstance(content, str):
            raise ItemProblem(f"input[{i}].content", "missing or not a string")
        messages.append(dict(message))
    return messages


def _check_json_value(value: Any, name: str, depth: int = 0) -> Any:
    if depth >= MAX_JSON_DEPTH:
        shown = name if len(name) <= 60 else name[:57] + "..."
        raise ItemProblem(shown, f"nested deeper than {MAX_JSON_DEPTH} levels (the limit)")
    if isinstance(value, float) and not math.isfinite(value):
        raise ItemProblem(name, f"{value!r} is not a JSON number")
    if isinstance(value, Mapping):
        return {str(k): _check_json_value(v, f"{name}.{k}", depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_check_json_value(v, f"{name}[{i}]", depth + 1) for i, v in enumerate(value)]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise ItemProblem(name, f"unsupported value of type {type(value).__name__}")


def validate_record(record: Mapping[str, Any], location: int) -> ParsedItem:
    unknown = [k for k in record if k not in FIELDS]
    if unknown:
        raise ItemProblem(
            str(unknown[0]),
            "unknown field (allowed: id, input, target, metadata; put extra data under metadata)",
        )
    for name in REQUIRED:
        value = record.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise ItemProblem(name, "missing")
    raw_key = record["id"]
    if isinstance(raw_key, bool) or not isinstance(raw_key, str | int):
        raise ItemProblem("id", f"must be a string or an integer, got {type(raw_key).__name__}")
    key = str(raw_key).strip()
    if len(key) > MAX_KEY_LENGTH:
        raise ItemProblem("id", f"longer than {MAX_KEY_LENGTH} characters")
    raw_input = record["input"]
    item_input: str | list[dict[str, Any]]
    if isinstance(raw_input, str):
        item_input = raw_input
    elif isinstance(raw_input, list | tuple):
        item_input = _check_messages(list(raw_input))
    else:
        raise ItemProblem("input", "must be text or a list of chat messages")
    target = _check_json_value(record["target"], "target")
    metadata = record.get("metadata")
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, Mapping):
        raise ItemProblem("metadata", f"must be an object, got {type(metadata).__name__}")
    return ParsedItem(
        key=key,
        input=item_input,
        target=target,
        metadata=_check_json_value(dict(metadata), "metadata"),
        location=location,
    )
