"""The two wire formats the simulator speaks: pure request parsing and reply/error shaping.

- :data:`OPENAI`: OpenAI chat completions (``POST /v1/chat/completions``), key in
  ``Authorization: Bearer ...``.
- :data:`ANTHROPIC`: the Anthropic Messages API (``POST /v1/messages``), key in
  ``x-api-key``. Its top-level ``system`` becomes a leading system message, so one prompt
  gets the same token counts on either wire.

Both are non-streaming and carry only what a benchmark client reads: text, usage, model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


class BadRequest(ValueError):
    """The request body is not what the wire expects."""


@dataclass(frozen=True, slots=True)
class Reply:
    """A successful answer, wire-independent."""

    number: int
    model: str
    content: str
    prompt_tokens: int
    completion_tokens: int


def _openai_parse(body: Any) -> tuple[str, list[Any]]:
    try:
        model, messages = body["model"], body["messages"]
    except (KeyError, TypeError) as exc:
        raise BadRequest("body must be JSON with model and messages") from exc
    if not isinstance(model, str) or not isinstance(messages, list):
        raise BadRequest("model must be a string and messages a list")
    return model, messages


def _openai_reply(r: Reply, created: int) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-sim-{r.number}",
        "object": "chat.completion",
        "created": created,
        "model": r.model,
        "system_fingerprint": f"sim-{r.model}",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": r.content},
            }
        ],
        "usage": {
            "prompt_tokens": r.prompt_tokens,
            "completion_tokens": r.completion_tokens,
            "total_tokens": r.prompt_tokens + r.completion_tokens,
        },
    }


def _openai_error(status: int, message: str, kind: str, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "code": code, "param": None}}


def _openai_authorized(headers: Mapping[str, str], key: str) -> bool:
    return headers.get("Authorization") == f"Bearer {key}"


def _anthropic_parse(body: Any) -> tuple[str, list[Any]]:
    model, messages = _openai_parse(body)
    if "max_tokens" not in body:
        raise BadRequest("max_tokens: Field required")
    system = body.get("system")
    if system:
        messages = [{"role": "system", "content": system}, *messages]
    return model, messages


def _anthropic_reply(r: Reply, created: int) -> dict[str, Any]:
    return {
        "id": f"msg_sim{r.number}",
        "type": "message",
        "role": "assistant",
        "model": r.model,
        "content": [{"type": "text", "text": r.content}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": r.prompt_tokens, "output_tokens": r.completion_tokens},
    }


_ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    504: "timeout_error",
}


def _anthropic_error(status: int, message: str, kind: str, code: str | None) -> dict[str, Any]:
    kind = _ANTHROPIC_ERROR_TYPES.get(status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": message}}


def _anthropic_authorized(headers: Mapping[str, str], key: str) -> bool:
    return headers.get("x-api-key") == key


@dataclass(frozen=True, slots=True)
class Wire:
    """How one API shapes requests, replies and errors."""

    name: str
    path: str
    parse: Callable[[Any], tuple[str, list[Any]]]
    """Body -> (model name, chat messages); raises :class:`BadRequest`."""
    reply: Callable[[Reply, int], dict[str, Any]]
    """(reply, unix time) -> the JSON body of a 200."""
    error: Callable[[int, str, str, str | None], dict[str, Any]]
    """(status, message, OpenAI error type, OpenAI error code) -> the JSON error body."""
    authorized: Callable[[Mapping[str, str], str], bool]
    """(request headers, the profile's key) -> whether the key is the right one."""


OPENAI = Wire(
    "openai",
    "/v1/chat/completions",
    _openai_parse,
    _openai_reply,
    _openai_error,
    _openai_authorized,
)
ANTHROPIC = Wire(
    "anthropic",
    "/v1/messages",
    _anthropic_parse,
    _anthropic_reply,
    _anthropic_error,
    _anthropic_authorized,
)
