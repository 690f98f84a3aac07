"""A provider's batch API through litellm's batch functions: upload, create, look up, fetch.

litellm 1.110 creates batches for the OpenAI-compatible batch providers only
(``litellm.types.utils.OPENAI_COMPATIBLE_BATCH_AND_FILES_PROVIDERS``; Anthropic's Message
Batches can be retrieved but not created there), so :func:`check_batch_route` admits the
routes whose provider is in :data:`BATCH_PROVIDERS` and refuses every other one with an error
naming the field ``limits.batch``. Errors of litellm's become the engine's
(:func:`~tasks.evaluation.wire.litellm_error`), so a status means what it means for a call.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import anyio

from tasks.evaluation.errors import ConfigurationError, EvaluationError
from tasks.evaluation.litellm_api import load_litellm
from tasks.evaluation.pricing import PricePlan, price_plan
from tasks.evaluation.provider import Route, TokenPrices, resolve_route
from tasks.evaluation.types import CandidateSpec
from tasks.evaluation.wire import litellm_error
from tasks.redaction import register_secret

BATCH_PROVIDERS = frozenset({"openai"})
"""litellm providers whose discounted batch API the engine uses (OpenAI Batch)."""

ENDED = frozenset({"completed", "failed", "expired", "cancelled"})
"""Provider statuses after which a batch answers nothing more."""

KEY_FIELD = "relitigate_batch"
"""The metadata field that carries a batch's client key to the provider."""

LIST_PAGE = 100


class BatchRouteError(ConfigurationError):
    """``limits.batch`` is set on a route whose provider has no batch API the engine uses."""

    def __init__(self, *, candidate: str, route: str, provider: str) -> None:
        self.candidate, self.route, self.provider = candidate, route, provider
        supported = ", ".join(sorted(BATCH_PROVIDERS))
        super().__init__(
            f"candidate {candidate!r}: limits.batch is true but route {route!r} (provider "
            f"{provider!r}) has no batch API relitigate can use (supported: {supported}); "
            "remove limits.batch or use an OpenAI route"
        )


def check_batch_route(spec: CandidateSpec, route: Route) -> None:
    """Refuse ``limits.batch`` on a route whose provider has no batch API."""
    if spec.limits.batch and route.provider not in BATCH_PROVIDERS:
        raise BatchRouteError(candidate=spec.name, route=spec.route, provider=route.provider)


class MissingBatchPriceError(ConfigurationError):
    """``limits.batch`` is set, no pricing is declared, and the cost map has no batch price."""

    def __init__(self, *, candidate: str, route: str) -> None:
        self.candidate, self.route = candidate, route
        super().__init__(
            f"candidate {candidate!r}: limits.batch is true but route {route!r} has no batch "
            "price (input/output_cost_per_token_batches) in litellm's cost map; add pricing "
            "to the candidate with the batch API's prices, or remove limits.batch"
        )


def batch_plan(spec: CandidateSpec, route: Route) -> PricePlan:
    """The price plan of a batch candidate: its own pricing (taken as the batch API's
    prices), else the cost map's ``*_cost_per_token_batches``.

    Raises:
        BatchRouteError: the route's provider has no batch API the engine uses.
        MissingBatchPriceError: no pricing declared and no batch price in the cost map.
    """
    check_batch_route(spec, route)
    if spec.pricing is not None:
        return price_plan(spec, None)
    prices = batch_cost_map_prices(route)
    if prices is None:
        raise MissingBatchPriceError(candidate=spec.name, route=spec.route)
    return PricePlan(tokens=prices, source="cost_map_batches")


def check_batch_declaration(spec: CandidateSpec) -> None:
    """What ``sync`` checks of a candidate with ``limits.batch`` (no network): its route
    resolves, its provider has a batch API, and a batch price is known.

    Raises:
        UnknownModelError, BatchRouteError, MissingBatchPriceError: the engine's errors.
    """
    batch_plan(spec, resolve_route(spec))


def batch_cost_map_prices(route: Route) -> TokenPrices | None:
    """The cost map's batch prices (``*_cost_per_token_batches``) of ``route``, or None."""
    litellm = load_litellm()
    names = ("input_cost_per_token_batches", "output_cost_per_token_batches")
    for key in (route.route, f"{route.provider}/{route.model}", route.model):
        entry = litellm.model_cost.get(key)
        if entry and all(entry.get(name) is not None for name in names):
            return TokenPrices(Decimal(str(entry[names[0]])), Decimal(str(entry[names[1]])))
    return None


@dataclass(frozen=True, slots=True)
class ProviderBatch:
    """A batch as the provider reports it."""

    id: str
    status: str
    input_file_id: str
    output_file_id: str | None
    error_file_id: str | None
    client_key: str | None
    errors: str | None = None
    """Why the provider refused the batch as a whole (status ``failed``), if it says."""

    @property
    def ended(self) -> bool:
        """True once the batch will answer nothing more."""
        return self.status in ENDED


def _errors(raw: Any) -> str | None:
    data = getattr(getattr(raw, "errors", None), "data", None) or []
    messages = [str(getattr(e, "message", None) or e) for e in data]
    return "; ".join(messages)[:500] or None


def _batch(raw: Any) -> ProviderBatch:
    metadata = getattr(raw, "metadata", None) or {}
    return ProviderBatch(
        id=str(raw.id),
        status=str(raw.status),
        input_file_id=str(raw.input_file_id),
        output_file_id=getattr(raw, "output_file_id", None),
        error_file_id=getattr(raw, "error_file_id", None),
        client_key=metadata.get(KEY_FIELD) if isinstance(metadata, Mapping) else None,
        errors=_errors(raw),
    )


class BatchAPI:
    """One route's files and batches endpoints, through litellm."""

    def __init__(self, route: Route, *, api_key: str | None, timeout_s: float) -> None:
        self._litellm = load_litellm()
        register_secret(api_key)
        self.route = route
        self._kwargs: dict[str, Any] = {
            "custom_llm_provider": route.provider,
            "api_key": api_key or "none",
            "timeout": timeout_s,
            "max_retries": 0,
        }
        if route.api_base:
            self._kwargs["api_base"] = route.api_base

    async def _call(self, name: str, **kwargs: Any) -> Any:
        # litellm's sync functions, in a worker thread: its async ones run these same functions
        # in an executor, where the client cache cannot see the event loop, and hand a later
        # event loop (the next run's) clients bound to a closed one.
        call = functools.partial(getattr(self._litellm, name), **kwargs, **self._kwargs)
        try:
            return await anyio.to_thread.run_sync(call)
        except EvaluationError:
            raise
        except Exception as exc:  # litellm and openai raise their own types
            raise litellm_error(self.route.route, exc) from exc

    async def upload(self, filename: str, content: bytes) -> str:
        """Upload a batch input file; its id."""
        raw = await self._call(
            "create_file", file=(filename, content, "application/jsonl"), purpose="batch"
        )
        return str(raw.id)

    async def create(self, input_file_id: str, client_key: str) -> ProviderBatch:
        """Create a chat-completions batch over an uploaded file, tagged with ``client_key``."""
        raw = await self._call(
            "create_batch", completion_window="24h", endpoint="/v1/chat/completions",
            input_file_id=input_file_id, metadata={KEY_FIELD: client_key},
        )  # fmt: skip
        return _batch(raw)

    async def retrieve(self, batch_id: str) -> ProviderBatch:
        """The batch's current state."""
        return _batch(await self._call("retrieve_batch", batch_id=batch_id))

    async def find(self, client_key: str, *, pages: int = 10) -> ProviderBatch | None:
        """The newest batch tagged with ``client_key`` among the provider's latest batches
        (``pages`` x 100, newest first), or None."""
        after: str | None = None
        for _ in range(pages):
            page = await self._call("list_batches", after=after, limit=LIST_PAGE)
            batches = [_batch(raw) for raw in (getattr(page, "data", None) or [])]
            for batch in batches:
                if batch.client_key == client_key:
                    return batch
            if not batches or not getattr(page, "has_more", False):
                return None
            after = batches[-1].id
        return None

    async def content(self, file_id: str) -> bytes:
        """A file's bytes (a batch's output or error file)."""
        raw = await self._call("file_content", file_id=file_id)
        return bytes(raw.content)
