"""litellm's provider transforms without litellm's per-call machinery.

``litellm.acompletion`` does, on every call, what an evaluation run needs once or never:
provider resolution, parameter mapping, a cost calculation (``completion_cost`` calling
``get_model_info`` several times), success-logging payloads and callbacks, response
metadata. The cost and metadata work cannot be switched off by a setting (litellm 1.110: no
flag skips ``response_cost_calculator``; the ``no-log`` kwarg only skips callbacks, and
neither it nor per-call custom prices measurably lowered the cost per call). relitigate
prices calls itself (:mod:`tasks.evaluation.pricing`) and retries itself
(:mod:`tasks.evaluation.retry`).

So for the providers in :data:`DIRECT_PROVIDERS` this module keeps litellm's value and calls
the public hooks of litellm's provider config (``BaseConfig``, the interface litellm's own
HTTP handler and custom providers use), sending the request over one shared ``aiohttp``
session:

- once per run: the provider config (``ProviderConfigManager.get_provider_chat_config``),
  OpenAI-style params mapped to the provider's (``litellm.get_optional_params``), the URL
  and the auth headers (``validate_environment``, again per call only for structured
  message content, which can add beta headers);
- per call: ``transform_request``, ``sign_request``, the POST, ``transform_response``.

litellm is reached through :mod:`tasks.evaluation.litellm_api`. HTTP statuses map to the
engine's errors as on the OpenAI-compatible path (:func:`~tasks.evaluation.wire.status_error`:
429 with Retry-After, 5xx transient; 401/403/404/other 4xx permanent). Other providers still
go through ``litellm.acompletion``.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tasks.evaluation.errors import ConfigurationError, TransientProviderError
from tasks.evaluation.litellm_api import load_litellm, provider_chat_config, with_api_route
from tasks.evaluation.provider import Completion, Route, completion_of
from tasks.evaluation.types import CandidateSpec
from tasks.evaluation.wire import litellm_error, open_session, post, status_error
from tasks.redaction import register_secret

# Keys litellm's provider handlers take out of the mapped params before the transforms.
_HANDLER_KEYS = ("stream", "is_vertex_request", "vertex_count_tokens_location", "extra_body")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a provider's chat endpoint is: what litellm's dispatch adds to the config."""

    default_base: str
    route_suffix: str
    key_env: str
    suffix_off_env: str


DIRECT_PROVIDERS: Mapping[str, Endpoint] = {
    "anthropic": Endpoint(
        default_base="https://api.anthropic.com/v1/messages",
        route_suffix="v1/messages",
        key_env="ANTHROPIC_API_KEY",
        suffix_off_env="LITELLM_ANTHROPIC_DISABLE_URL_SUFFIX",
    ),
}
"""Providers sent directly, each verified against the simulator (tests/evaluation)."""


class CallLoggingStandIn:
    """The ``logging_obj`` handed to provider transforms.

    litellm's ``Logging`` object records each call (``pre_call``/``post_call``) for its
    callbacks and cost tracking, which relitigate does not use. Transforms only call these
    two methods and read these three attributes; ``tests/evaluation/test_litellm_direct.py``
    runs the real transforms with it, so a litellm release that needs more fails there.
    """

    def __init__(self) -> None:
        self.model_call_details: dict[str, Any] = {}
        self.optional_params: dict[str, Any] = {}
        self.litellm_params: dict[str, Any] = {}

    def pre_call(self, *args: Any, **kwargs: Any) -> None:
        return None

    def post_call(self, *args: Any, **kwargs: Any) -> None:
        return None


def endpoint_url(endpoint: Endpoint, api_base: str | None, env: Mapping[str, str]) -> str:
    """The chat URL litellm would call: the base, with the provider's route appended."""
    base = api_base or endpoint.default_base
    if env.get(endpoint.suffix_off_env, "").lower() in ("1", "true", "yes"):
        return base
    return with_api_route(base, endpoint.route_suffix)


def plain_text(messages: Sequence[Mapping[str, Any]]) -> bool:
    """True when every message's content is a string (headers then depend on nothing)."""
    return all(isinstance(m.get("content"), str) for m in messages)


class LiteLLMDirectProvider:
    """litellm's provider config transforms over one shared aiohttp session per run."""

    def __init__(self, route: Route, spec: CandidateSpec, *, api_key: str | None) -> None:
        import httpx

        litellm = load_litellm()
        self.route = route
        self._httpx = httpx
        self._model_response = litellm.ModelResponse
        params = spec.params
        endpoint = DIRECT_PROVIDERS[route.provider]
        self._api_key = api_key or os.environ.get(endpoint.key_env)
        register_secret(self._api_key)
        config = provider_chat_config(route.model, route.provider)
        if config is None:
            raise ConfigurationError(f"route {route.route!r}: litellm has no chat config")
        self._config = config
        try:
            optional = dict(
                litellm.get_optional_params(
                    model=route.model, custom_llm_provider=route.provider, **dict(params)
                )
            )
        except Exception as exc:  # litellm's UnsupportedParamsError and friends
            raise ConfigurationError(
                f"route {route.route!r}: litellm cannot map params {dict(params)!r} "
                f"({str(exc).splitlines()[0]}); remove or rename the offending param"
            ) from exc
        self._json_mode = bool(optional.pop("json_mode", False))
        for key in _HANDLER_KEYS:
            optional.pop(key, None)
        self._optional: dict[str, Any] = optional
        self._litellm_params: dict[str, Any] = {}
        self._url = endpoint_url(endpoint, route.api_base, os.environ)
        try:
            self._headers = self._auth_headers([])
        except Exception as exc:  # litellm's AuthenticationError for a missing key
            status = getattr(exc, "status_code", None)
            if isinstance(status, int):
                raise status_error(route.route, status, str(exc)) from exc
            raise ConfigurationError(f"route {route.route!r}: {exc}") from exc
        self._logging: Any = CallLoggingStandIn()  # typed as litellm's Logging
        self._request = httpx.Request("POST", self._url)  # only read when a reply is bad
        self._session = open_session(
            concurrency=spec.limits.concurrency, timeout_s=spec.limits.timeout_s
        )

    def _auth_headers(self, messages: list[Any]) -> dict[str, Any]:
        headers: dict[str, Any] = self._config.validate_environment(
            api_key=self._api_key,
            headers={},
            model=self.route.model,
            messages=messages,
            optional_params=dict(self._optional),
            litellm_params=self._litellm_params,
            api_base=self._url,
        )
        return headers

    async def complete(self, messages: Sequence[Mapping[str, Any]]) -> Completion:
        config, model, route = self._config, self.route.model, self.route.route
        # Copies, as litellm's handlers make: transforms may edit messages and headers in
        # place, and the engine shares the system and few-shot messages across items.
        if plain_text(messages):
            msgs: list[Any] = [dict(m) for m in messages]
            headers = dict(self._headers)
        else:
            msgs = copy.deepcopy(list(messages))
            headers = self._auth_headers(msgs)
        try:
            data = config.transform_request(
                model=model,
                messages=msgs,
                optional_params=dict(self._optional),
                litellm_params=self._litellm_params,
                headers=headers,
            )
            headers, signed = config.sign_request(
                headers=headers,
                optional_params=self._optional,
                request_data=data,
                api_base=self._url,
                api_key=self._api_key,
                model=model,
                stream=False,
                fake_stream=False,
            )
        except Exception as exc:  # as acompletion's errors map (LiteLLMProvider.complete)
            raise litellm_error(route, exc) from exc
        body = signed if signed is not None else json.dumps(data)
        resp_headers, raw = await post(self._session, self._url, body, headers, route)
        httpx = self._httpx
        try:
            reply = config.transform_response(
                model=model,
                raw_response=httpx.Response(
                    200,
                    headers=dict(resp_headers),
                    content=raw,
                    request=self._request,
                ),
                model_response=self._model_response(),
                logging_obj=self._logging,
                request_data=data,
                messages=msgs,
                optional_params=self._optional,
                litellm_params=self._litellm_params,
                encoding=None,
                api_key=self._api_key,
                json_mode=self._json_mode,
            )
            return completion_of(reply)
        except Exception as exc:  # a transform's own error types for a malformed reply
            raise TransientProviderError(
                f"route {route!r}: litellm cannot read the reply ({exc!r}): {raw[:200]!r}",
                route=route,
                kind="server",
            ) from exc

    async def aclose(self) -> None:
        await self._session.close()
