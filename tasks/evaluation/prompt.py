"""Render a candidate's prompt for one item: system prompt, few-shot turns, the item."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tasks.evaluation.errors import ConfigurationError
from tasks.evaluation.types import EvalItem, PromptSpec

Message = dict[str, Any]


def preamble(prompt: PromptSpec) -> list[Message]:
    """The messages that come before every item (rendered once per run)."""
    messages: list[Message] = []
    if prompt.system:
        messages.append({"role": "system", "content": prompt.system})
    for shot in prompt.few_shot:
        messages.append({"role": "user", "content": shot.input})
        messages.append({"role": "assistant", "content": shot.output})
    return messages


def render_text(template: str, item: EvalItem) -> str:
    """The user message for a text item: ``template`` with ``{input}`` and metadata fields."""
    if template == "{input}":
        assert isinstance(item.input, str)
        return item.input
    try:
        return template.format_map({**item.metadata, "input": item.input})
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigurationError(
            f"item {item.key!r}: prompt template {template!r} cannot be filled ({exc!r}); "
            "use {input} and metadata keys only, and double literal braces as {{ }}"
        ) from exc


def render(prompt: PromptSpec, item: EvalItem, head: list[Message] | None = None) -> list[Message]:
    """All messages for ``item``. Pass ``head=preamble(prompt)`` to reuse it across items.

    Text inputs become one user message rendered from the template; chat-message inputs are
    appended as given (the template does not apply to them).
    """
    messages = list(preamble(prompt) if head is None else head)
    if isinstance(item.input, str):
        messages.append({"role": "user", "content": render_text(prompt.template, item)})
    else:
        messages.extend(_message(m, item.key) for m in item.input)
    return messages


def _message(m: Mapping[str, Any], key: str) -> Message:
    if "role" not in m or "content" not in m:
        raise ConfigurationError(
            f"item {key!r}: chat message {dict(m)!r} needs 'role' and 'content'"
        )
    return dict(m)


def char_count(messages: list[Message]) -> int:
    """Characters of all message contents (an upper bound for token estimates)."""
    total = 0
    for m in messages:
        content = m.get("content")
        total += len(content) if isinstance(content, str) else len(str(content))
    return total
