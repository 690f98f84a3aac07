"""The provider adapter: resolves routes, prices them, and sends each chat request.

litellm's value is kept; its per-call overhead is not paid on the hot path:

- **Route resolution** (``litellm.get_llm_provider``) runs once per run, in
  :func:`resolve_route`.
- **Prices** come from litellm's cost map once per run (:func:`cost_map_prices`).
- **OpenAI-compatible routes** (providers ``openai``, ``hosted_vllm``, ``openai_like``,
  ``custom_openai``, ``litellm_proxy``, ``lm_studio``, ``llamafile``; or any of litellm's
  OpenAI-compatible providers given an ``api_base``) are sent as plain OpenAI chat-completion
  requests over one shared ``aiohttp`` session per route: about 0.3 ms of CPU per call, where
  ``litellm.acompletion`` costs about 4 ms and the ``openai`` SDK about 2 ms (measured:
  BENCHMARKS.md, "Evaluation engine"). Retries are ours (:mod:`tasks.evaluation.retry`).
- **Every other provider** goes through litellm, so its provider transforms apply:
  providers in :data:`~tasks.evaluation.litellm_direct.DIRECT_PROVIDERS` (Anthropic) through
  litellm's provider config hooks over aiohttp (:mod:`tasks.evaluation.litellm_direct`),
  skipping litellm's per-call cost calculation and logging; the rest (Bedrock, Vertex...)
  through ``litellm.acompletion`` with litellm's own retries off.
  ``CandidateSpec.transport = "litellm"`` forces litellm for any route, ``"acompletion"``
  forces ``litellm.acompletion``.

litellm is reached only through :mod:`tasks.evaluation.litellm_api` (imported lazily, offline)
and HTTP only through :mod:`tasks.evaluation.wire`. Errors come back as
:class:`~tasks.evaluation.errors.ProviderError` subclasses: transient (429 with its
Retry-After, 408/409/5xx, timeouts, connection errors) or permanent (401/403 auth, 404
unknown model, other 4xx). Each provider registers the key it is given with
:mod:`tasks.redaction`, and the engine's errors scrub their messages, so an error body that
quotes the key back never carries it further.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from tasks.evaluation.errors import TransientProviderError, UnknownModelError
from tasks.evaluation.litellm_api import load_litellm
from tasks.evaluation.types import CandidateSpec
from tasks.evaluation.wire import litellm_error, open_session, post, status_error
from tasks.redaction import register_secret

_OPENAI_COMPATIBLE = frozenset(
    {
        "openai",
        "hosted_vllm",
        "openai_like",
        "custom_openai",
        "litellm_proxy",
        "lm_studio",
        "llamafile",
    }
)
_DEFAULT_BASES = {"openai": "https://api.openai.com/v1"}


@dataclass(frozen=True, slots=True)
class Route:
    """A candidate's route, resolved once per run."""

    route: str
    provider: str
    model: str
    """The model name the provider expects."""
    api_base: str | None
    openai_compatible: bool
    """True: sent over the OpenAI wire protocol by :class:`OpenAICompatibleProvider`."""


@dataclass(frozen=True, slots=True)
class Completion:
    """One successful provider reply."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    model_version: str | None


@dataclass(frozen=True, slots=True)
class TokenPrices:
    """USD per prompt token and per completion token."""

    input_usd_per_token: Decimal
    output_usd_per_token: Decimal


def completion_of(reply: Any) -> Completion:
    """The :class:`Completion` in a litellm ``ModelResponse``."""
    usage = getattr(reply, "usage", None)
    return Completion(
        text=reply.choices[0].message.content or "",
        prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        model_version=getattr(reply, "model", None),
    )


class Provider(Protocol):
    """Sends one chat request. Open one per run with :func:`open_provider`."""

    async def complete(self, messages: Sequence[Mapping[str, Any]]) -> Completion: ...

    async def aclose(self) -> None: ...


OPENAI_PREFIX = "openai/"
"""Routes litellm resolves by stripping this prefix alone (the model is the rest)."""


def resolve_route(spec: CandidateSpec) -> Route:
    """Resolve ``spec.route`` with litellm; an unknown provider raises UnknownModelError.

    An ``openai/<model>`` route is resolved here as litellm resolves it (provider ``openai``,
    the model the rest, the declared ``api_base`` else OpenAI's), without importing litellm:
    its import is most of a small run's set-up (``BENCHMARKS.md``, "A run's fixed cost").
    """
    rest = spec.route.removeprefix(OPENAI_PREFIX)
    if spec.route.startswith(OPENAI_PREFIX) and rest and rest.strip() == rest:
        return Route(
            route=spec.route,
            provider="openai",
            model=rest,
            api_base=spec.api_base or _DEFAULT_BASES["openai"],
            openai_compatible=spec.transport == "auto",
        )
    litellm = load_litellm()
    try:
        model, provider, _key, base = litellm.get_llm_provider(spec.route, api_base=spec.api_base)
    except Exception as exc:  # litellm raises BadRequestError for an unknown provider
        raise UnknownModelError(
            f"candidate {spec.name!r}: litellm cannot resolve route {spec.route!r} "
            f"({str(exc).splitlines()[0]}); write it as provider/model, e.g. openai/gpt-5",
            route=spec.route,
        ) from exc
    api_base = spec.api_base or base or _DEFAULT_BASES.get(provider)
    compatible = (
        spec.transport == "auto"
        and api_base is not None
        and (
            provider in _OPENAI_COMPATIBLE
            or (spec.api_base is not None and provider in litellm.openai_compatible_providers)
        )
    )
    return Route(
        route=spec.route,
        provider=provider,
        model=model,
        api_base=api_base,
        openai_compatible=compatible,
    )


def cost_map_prices(route: Route) -> TokenPrices | None:
    """Per-token prices from litellm's cost map (read once per run), or None if absent."""
    litellm = load_litellm()
    for key in (route.route, f"{route.provider}/{route.model}", route.model):
        entry = litellm.model_cost.get(key)
        if entry and "input_cost_per_token" in entry and "output_cost_per_token" in entry:
            return TokenPrices(
                Decimal(str(entry["input_cost_per_token"])),
                Decimal(str(entry["output_cost_per_token"])),
            )
    return None


class OpenAICompatibleProvider:
    """OpenAI chat completions over one shared aiohttp session (per route and run)."""

    def __init__(self, route: Route, spec: CandidateSpec, *, api_key: str | None) -> None:
        assert route.api_base is not None
        register_secret(api_key)
        self.route = route
        self._url = route.api_base.rstrip("/") + "/chat/completions"
        self._headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {api_key or 'none'}",
        }
        self._params = dict(spec.params)
        self._session = open_session(
            concurrency=spec.limits.concurrency, timeout_s=spec.limits.timeout_s
        )

    async def complete(self, messages: Sequence[Mapping[str, Any]]) -> Completion:
        body = json.dumps({"model": self.route.model, "messages": messages, **self._params})
        route = self.route.route
        _, raw = await post(self._session, self._url, body, self._headers, route)
        try:
            data = json.loads(raw)
            usage = data.get("usage") or {}
            return Completion(
                text=data["choices"][0]["message"].get("content") or "",
                prompt_tokens=int(usage.get("prompt_tokens", 0)),
                completion_tokens=int(usage.get("completion_tokens", 0)),
                model_version=data.get("model"),
            )
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise TransientProviderError(
                f"route {route!r}: reply is not an OpenAI chat completion: {raw[:200]!r}",
                route=route,
                kind="server",
            ) from exc

    async def aclose(self) -> None:
        await self._session.close()


class LiteLLMProvider:
    """``litellm.acompletion`` for providers that need its transforms."""

    def __init__(self, route: Route, spec: CandidateSpec, *, api_key: str | None) -> None:
        self._litellm = load_litellm()
        register_secret(api_key)
        self.route = route
        self._kwargs: dict[str, Any] = {
            "model": route.route,
            "timeout": spec.limits.timeout_s,
            "num_retries": 0,
            "max_retries": 0,
            **spec.params,
        }
        if api_key:
            self._kwargs["api_key"] = api_key
        elif route.provider in _OPENAI_COMPATIBLE:  # keyless local servers (vLLM, simulator)
            self._kwargs["api_key"] = "none"
        if route.api_base:
            self._kwargs["api_base"] = route.api_base

    async def complete(self, messages: Sequence[Mapping[str, Any]]) -> Completion:
        import openai

        route = self.route.route
        try:
            resp = await self._litellm.acompletion(messages=list(messages), **self._kwargs)
        except openai.APITimeoutError as exc:
            raise TransientProviderError(
                f"route {route!r}: no reply within the timeout", route=route, kind="timeout"
            ) from exc
        except openai.APIConnectionError as exc:
            raise TransientProviderError(
                f"route {route!r}: connection failed: {exc}", route=route, kind="connection"
            ) from exc
        except openai.APIStatusError as exc:
            headers = exc.response.headers if exc.response is not None else {}
            raise status_error(route, exc.status_code, str(exc), headers) from exc
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # litellm raises its own types for provider quirks
            raise litellm_error(route, exc) from exc
        return completion_of(resp)

    async def aclose(self) -> None:
        return None


def open_provider(spec: CandidateSpec, route: Route, *, api_key: str | None) -> Provider:
    """The provider for a resolved route (call inside the event loop that will use it)."""
    if route.openai_compatible:
        return OpenAICompatibleProvider(route, spec, api_key=api_key)
    from tasks.evaluation.litellm_direct import DIRECT_PROVIDERS, LiteLLMDirectProvider

    if route.provider in DIRECT_PROVIDERS and spec.transport != "acompletion":
        return LiteLLMDirectProvider(route, spec, api_key=api_key)
    return LiteLLMProvider(route, spec, api_key=api_key)
