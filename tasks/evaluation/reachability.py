"""Is each provider endpoint there at all? Checked once, before anything is spent.

A provider that is not listening is not an answer: without this check every item of a run
errors with a connection failure and the run ends as if the model had scored nothing.
:func:`check_reachable` opens one TCP connection to each distinct endpoint (host and port of
the route's ``api_base``) and closes it again; nothing is sent, so nothing is paid.

Only endpoints the user configured are reached: a route's ``api_base``, or for a provider
route without one the provider's documented API host (:data:`DEFAULT_HOSTS`), which is where
that candidate's calls would go anyway. A provider whose host depends on settings relitigate
does not read (Bedrock's region, Vertex's project) is not checked here; a run on it still
stops early when its calls cannot connect (:class:`EndpointUnreachableError`, raised by the
runner's :class:`ConnectionWatch` after :data:`CONNECTION_FAILURES_TO_ABORT` items in a row).
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from tasks.evaluation.errors import EvaluationError, TransientProviderError
from tasks.evaluation.types import ItemResult

CONNECT_TIMEOUT_S = 5.0
"""How long one endpoint may take to accept a connection."""

CONNECTION_FAILURES_TO_ABORT = 3
"""Items in a row whose every attempt failed to connect, with no reply in between, after
which a run stops: the endpoint is gone, and the rest would only fail the same way."""

DEFAULT_HOSTS: Mapping[str, str] = {
    "openai": "https://api.openai.com",
    "anthropic": "https://api.anthropic.com",
    "gemini": "https://generativelanguage.googleapis.com",
    "mistral": "https://api.mistral.ai",
    "groq": "https://api.groq.com",
    "deepseek": "https://api.deepseek.com",
}
"""The API host of providers that have one fixed host, for routes without ``api_base``."""


@dataclass(frozen=True, slots=True, order=True)
class Endpoint:
    """Where a route's calls go: a host and a TCP port."""

    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


class EndpointUnreachableError(EvaluationError):
    """A provider endpoint did not accept a connection (before the run, or during it)."""

    def __init__(self, *, endpoint: Endpoint | str, candidates: Sequence[str], reason: str) -> None:
        self.endpoint, self.candidates, self.reason = endpoint, tuple(candidates), reason
        names = ", ".join(repr(c) for c in candidates)
        super().__init__(
            f"cannot reach {endpoint} (used by {names}): {reason}; start the provider or "
            "fix the candidate's api_base (for the simulator: `relitigate sim serve`)"
        )


def endpoint_of(api_base: str | None, provider: str) -> Endpoint | None:
    """The endpoint of a route with ``api_base`` (or ``provider``'s fixed host), or None
    when relitigate cannot know it without opening a connection the user did not name."""
    base = api_base or DEFAULT_HOSTS.get(provider)
    if not base:
        return None
    parts = urlsplit(base if "://" in base else f"http://{base}")
    try:
        port = parts.port
    except ValueError:  # a port that is not a number: the route will fail on its own
        return None
    if not parts.hostname:
        return None
    default_port = 443 if parts.scheme == "https" else 80
    return Endpoint(parts.hostname, port or default_port)


def group_endpoints(
    routes: Iterable[tuple[str, str | None, str]],
) -> dict[Endpoint, list[str]]:
    """Distinct endpoints of ``(candidate name, api_base, provider)`` triples, each with the
    candidates that use it (routes without a knowable endpoint are left out)."""
    grouped: dict[Endpoint, list[str]] = {}
    for name, api_base, provider in routes:
        endpoint = endpoint_of(api_base, provider)
        if endpoint is not None:
            names = grouped.setdefault(endpoint, [])
            if name not in names:
                names.append(name)
    return grouped


def connect_error(endpoint: Endpoint, timeout_s: float = CONNECT_TIMEOUT_S) -> str | None:
    """Why ``endpoint`` refused a TCP connection, or None when it accepted one."""
    try:
        with socket.create_connection((endpoint.host, endpoint.port), timeout=timeout_s):
            return None
    except TimeoutError:
        return f"no answer within {timeout_s:g} s"
    except ConnectionRefusedError:
        return "connection refused (nothing is listening there)"
    except socket.gaierror as exc:
        return f"cannot resolve host {endpoint.host!r} ({exc.strerror or exc})"
    except OSError as exc:
        return exc.strerror or str(exc) or type(exc).__name__


def check_reachable(
    endpoints: Mapping[Endpoint, Sequence[str]], *, timeout_s: float = CONNECT_TIMEOUT_S
) -> None:
    """Connect once to each endpoint; raise :class:`EndpointUnreachableError` for the first
    (in sorted order) that does not accept a connection."""
    for endpoint in sorted(endpoints):
        reason = connect_error(endpoint, timeout_s)
        if reason is not None:
            raise EndpointUnreachableError(
                endpoint=endpoint, candidates=endpoints[endpoint], reason=reason
            )


class ConnectionWatch:
    """Connection failures held back until the endpoint answers; the run stopped if it never does.

    An item whose every attempt failed to connect is not an answer: it is held, not handed to
    the sink, so a run that never reached its provider leaves no result behind. Any other
    result shows the endpoint is there and releases what was held. After ``limit`` items in a
    row failed to connect, :meth:`failed_to_connect` raises :class:`EndpointUnreachableError`.
    """

    def __init__(self, *, candidate: str, endpoint: str, limit: int) -> None:
        self.candidate, self.endpoint, self.limit = candidate, endpoint, max(1, limit)
        self.streak = 0
        """Items in a row that failed to connect, with no reply in between."""
        self.held: list[ItemResult] = []

    def admit(self, result: ItemResult) -> list[ItemResult]:
        """The results ready for the sink now that ``result`` arrived (held ones first)."""
        if result.error_kind == "connection":
            self.held.append(result)
            return []
        self.streak = 0
        ready, self.held = [*self.held, result], []
        return ready

    def release(self) -> list[ItemResult]:
        """The held results, handed over (the run ended without giving up on the endpoint)."""
        held, self.held = self.held, []
        return held

    def failed_to_connect(self, exc: TransientProviderError) -> None:
        """Count one more item that failed to connect; raise once ``limit`` are in a row."""
        self.streak += 1
        if self.streak < self.limit:
            return
        raise EndpointUnreachableError(
            endpoint=self.endpoint,
            candidates=[self.candidate],
            reason=(
                f"{self.streak} items in a row failed to connect, with no reply in between "
                f"(last: {exc}); the run stopped before the rest"
            ),
        ) from exc
