"""Talking HTTP to a provider: one aiohttp session per run, the POST, and what a reply means.

An HTTP status becomes the engine's error here (:func:`status_error`): 401/403 a refused
key, 404 an unknown model, 429 a rate limit with its Retry-After, 408/409/5xx a transient
server error, any other 4xx a permanent one. A timeout or a connection failure is transient.
Every provider path (OpenAI-compatible, litellm's transforms, ``litellm.acompletion``)
reports its failures through these functions, so a status means the same whichever path
the route takes.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Mapping
from typing import Any

from tasks.evaluation.errors import (
    AuthenticationFailed,
    PermanentProviderError,
    ProviderError,
    TransientProviderError,
    UnknownModelError,
)


def open_session(*, concurrency: int, timeout_s: float) -> Any:
    """An aiohttp session with ``concurrency`` connections and a per-request timeout (call
    inside the event loop that will use it)."""
    import aiohttp

    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=concurrency, ttl_dns_cache=300),
        timeout=aiohttp.ClientTimeout(total=timeout_s),
    )


def retry_after_s(headers: Mapping[str, str]) -> float | None:
    """Seconds from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time()) if when else None


def status_error(
    route: str, status: int, message: str, headers: Mapping[str, str] | None = None
) -> ProviderError:
    """The engine's error for an HTTP status from a provider."""
    text = f"route {route!r}: provider answered HTTP {status}: {message[:300]}"
    if status in (401, 403):
        return AuthenticationFailed(
            f"{text}; check the API key variable of this candidate", route=route, status=status
        )
    if status == 404:
        return UnknownModelError(
            f"{text}; check the model name and api_base", route=route, status=status
        )
    if status == 429 or status in (408, 409) or status >= 500:
        return TransientProviderError(
            text,
            route=route,
            kind="rate_limit" if status == 429 else "server",
            status=status,
            retry_after_s=retry_after_s(headers or {}),
        )
    return PermanentProviderError(f"{text}; fix the request parameters", route=route, status=status)


def litellm_error(route: str, exc: Exception) -> ProviderError:
    """The engine's error for an exception of litellm's: by its HTTP status, else transient."""
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        return status_error(route, status, str(exc))
    return TransientProviderError(f"route {route!r}: {exc!r}", route=route, kind="server")


def _error_message(raw: bytes) -> str:
    try:
        err = json.loads(raw).get("error")
        return str(err.get("message", err)) if isinstance(err, dict) else str(err)
    except (ValueError, AttributeError):
        return raw[:300].decode(errors="replace")


async def post(
    session: Any, url: str, body: str | bytes, headers: Mapping[str, str], route: str
) -> tuple[Mapping[str, str], bytes]:
    """POST ``body`` on an aiohttp session: the reply's headers and body on HTTP 200.

    Any other status raises :func:`status_error`'s error; timeouts and connection failures
    raise a transient error.
    """
    import aiohttp

    try:
        async with session.post(url, data=body, headers=headers) as resp:
            raw: bytes = await resp.read()
            if resp.status != 200:
                raise status_error(route, resp.status, _error_message(raw), resp.headers)
            return resp.headers, raw
    except TimeoutError as exc:
        raise TransientProviderError(
            f"route {route!r}: no reply within the timeout", route=route, kind="timeout"
        ) from exc
    except aiohttp.ClientError as exc:
        raise TransientProviderError(
            f"route {route!r}: connection failed: {exc!r}", route=route, kind="connection"
        ) from exc
