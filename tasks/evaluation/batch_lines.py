"""A batch's lines: the JSONL request file, and what each output or error line says.

Pure functions over bytes. Each request line's ``custom_id`` is the eval item's key, so an
answer finds its item whatever order the provider writes them in. An error line becomes the
same error a call would (:func:`~tasks.evaluation.wire.status_error`): its kind for a
transient status, ``permanent`` otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tasks.evaluation.errors import (
    AuthenticationFailed,
    ProviderError,
    TransientProviderError,
    UnknownModelError,
)
from tasks.evaluation.prompt import Message, render
from tasks.evaluation.provider import Completion
from tasks.evaluation.types import CandidateSpec, ErrorKind, EvalItem
from tasks.evaluation.wire import status_error

CHAT_URL = "/v1/chat/completions"


def request_file(
    spec: CandidateSpec, model: str, items: Iterable[EvalItem], head: list[Message]
) -> bytes:
    """The batch input file: one chat-completions request per item, ``custom_id`` its key."""
    lines = []
    for item in items:
        body = {"model": model, "messages": render(spec.prompt, item, head), **spec.params}
        line = {"custom_id": item.key, "method": "POST", "url": CHAT_URL, "body": body}
        lines.append(json.dumps(line, separators=(",", ":"), ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode()


@dataclass(frozen=True, slots=True)
class LineOutcome:
    """One item's answer in a batch: a completion, or an error with its kind."""

    completion: Completion | None
    error: str | None = None
    error_kind: ErrorKind | None = None
    fatal: ProviderError | None = None
    """A refused key or an unknown model: every line would say the same, so the run stops
    (as a probe call's would) instead of recording it against the item."""


def _completion(body: Mapping[str, Any]) -> Completion:
    usage = body.get("usage") or {}
    return Completion(
        text=body["choices"][0]["message"].get("content") or "",
        prompt_tokens=int(usage.get("prompt_tokens", 0)),
        completion_tokens=int(usage.get("completion_tokens", 0)),
        model_version=body.get("model"),
    )


def _failure(route: str, status: int, body: Any) -> LineOutcome:
    err = body.get("error") if isinstance(body, Mapping) else None
    message = str(err.get("message", err)) if isinstance(err, Mapping) else str(body)[:300]
    exc = status_error(route, status, message)
    kind = exc.kind if isinstance(exc, TransientProviderError) else "permanent"
    fatal = exc if isinstance(exc, AuthenticationFailed | UnknownModelError) else None
    return LineOutcome(None, str(exc), ErrorKind(kind), fatal)


def _outcome(route: str, line: Mapping[str, Any]) -> LineOutcome:
    response = line.get("response") or {}
    status = int(response.get("status_code") or 0)
    body = response.get("body") or {}
    if status == 200:
        try:
            return LineOutcome(_completion(body))
        except (KeyError, IndexError, TypeError, ValueError):
            message = f"route {route!r}: batch line is not a chat completion: {str(body)[:200]}"
            return LineOutcome(None, message, ErrorKind.SERVER)
    if status == 0:
        message = f"route {route!r}: batch line failed: {str(line.get('error'))[:300]}"
        return LineOutcome(None, message, ErrorKind.SERVER)
    return _failure(route, status, body)


def parse_lines(route: str, *files: bytes) -> dict[str, LineOutcome]:
    """Each ``custom_id``'s outcome in a batch's output and error files (later lines win)."""
    outcomes: dict[str, LineOutcome] = {}
    for raw in files:
        for text in raw.splitlines():
            if not text.strip():
                continue
            try:
                line = json.loads(text)
                key = str(line["custom_id"])
            except (ValueError, KeyError, TypeError):
                continue  # a line without an item key answers nothing we asked
            outcomes[key] = _outcome(route, line)
    return outcomes


def missing(route: str, batch_id: str, status: str) -> LineOutcome:
    """The outcome of an item the ended batch has no line for (not answered, not charged)."""
    message = f"route {route!r}: batch {batch_id} ended {status!r} without an answer for this item"
    return LineOutcome(None, message, ErrorKind.SERVER)
