"""The litellm transport on a non-OpenAI route: anthropic/... against the simulator's
Anthropic Messages endpoint, sent directly with litellm's transforms or via acompletion."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from relitigate.simulator import ModelProfile, Profile, SimulatorServer
from relitigate.simulator.behaviour import count_tokens
from tasks.evaluation import run_candidate
from tasks.evaluation.errors import (
    AuthenticationFailed,
    ConfigurationError,
    UnknownModelError,
)
from tasks.evaluation.litellm_api import load_litellm
from tasks.evaluation.litellm_direct import (
    DIRECT_PROVIDERS,
    CallLoggingStandIn,
    LiteLLMDirectProvider,
    endpoint_url,
    plain_text,
)
from tasks.evaluation.provider import open_provider, resolve_route
from tasks.evaluation.retry import RetryPolicy
from tasks.evaluation.scorers import build_scorer
from tests.evaluation.conftest import ITEMS, ListSink, spec_for
from tests.reliability.guard.support import EchoProvider

pytestmark = pytest.mark.anyio
EXACT = build_scorer({"kind": "exact"})
KEY = {"SIM_KEY": "sk-sim"}


def anthropic_spec(sim: SimulatorServer, model: str, **kw: object) -> Any:
    """A candidate on the simulator's Anthropic endpoint (api_base is the server root)."""
    args: dict[str, object] = {
        "route": f"anthropic/{model}",
        "api_base": sim.root_url,
        "api_key_env": "SIM_KEY",
    }
    args.update(kw)
    return spec_for(sim, model, **args)


def rows(sink: ListSink) -> list[tuple[object, ...]]:
    return sorted(
        (r.item_key, r.output, r.prompt_tokens, r.completion_tokens, r.cost_usd, r.passed)
        for r in sink.rows
    )


async def test_anthropic_route_gives_the_same_tokens_and_cost_as_litellm_itself(
    fresh_sim: SimulatorServer,
) -> None:
    items = ITEMS[:16]
    openai, direct, full = ListSink(), ListSink(), ListSink()
    a = await run_candidate(spec_for(fresh_sim, "seventy"), items, scorer=EXACT, sink=openai)
    b = await run_candidate(
        anthropic_spec(fresh_sim, "seventy"), items, scorer=EXACT, sink=direct, env=KEY
    )
    c = await run_candidate(
        anthropic_spec(fresh_sim, "seventy", transport="acompletion"),
        items,
        scorer=EXACT,
        sink=full,
        env=KEY,
    )
    assert rows(direct) == rows(full) == rows(openai)
    assert a.cost_usd == b.cost_usd == c.cost_usd > 0
    assert b.prompt_tokens == c.prompt_tokens > 0 and b.completion_tokens == c.completion_tokens
    assert b.items_passed == c.items_passed == a.items_passed
    assert b.model_version == c.model_version == "seventy"


async def test_system_prompt_and_params_go_through_litellm_transforms(
    fresh_sim: SimulatorServer,
) -> None:
    from tasks.evaluation.types import PromptSpec

    prompt = PromptSpec(system="Answer with one label.")
    direct, full = ListSink(), ListSink()
    for sink, transport in ((direct, "auto"), (full, "acompletion")):
        await run_candidate(
            anthropic_spec(
                fresh_sim,
                "perfect",
                prompt=prompt,
                params={"max_tokens": 8, "temperature": 0, "top_k": 5},
                transport=transport,
            ),
            ITEMS[:6],
            scorer=EXACT,
            sink=sink,
            env=KEY,
        )
    assert rows(direct) == rows(full)
    # the system prompt reached the provider: it is counted in the prompt tokens
    chars = {i.key: len(str(i.input)) + len(str(prompt.system)) for i in ITEMS[:6]}
    assert {r.item_key: r.prompt_tokens for r in direct.rows} == {
        k: count_tokens(n) for k, n in chars.items()
    }


async def test_rate_limits_and_server_errors_are_retried(fresh_sim: SimulatorServer) -> None:
    sink = ListSink()
    s = await run_candidate(
        anthropic_spec(fresh_sim, "flaky"),
        ITEMS[:80],
        scorer=EXACT,
        sink=sink,
        retry=RetryPolicy(max_attempts=8, base_s=0.01, cap_s=0.05),
        seed=1,
        env=KEY,
    )
    stats = fresh_sim.model_stats("flaky")
    assert stats["errors_injected"] > 0 and stats["rate_limited"] > 0
    assert s.status == "complete" and s.items_errored == 0 and s.items_passed == 80
    assert stats["completions"] == 80 and stats["duplicate_completions"] == 0
    assert sum(r.attempts for r in sink.rows) == stats["requests"]
    assert stats["requests"] == 80 + stats["errors_injected"] + stats["rate_limited"]


async def test_unknown_model_and_bad_key_fail_fast(fresh_sim: SimulatorServer) -> None:
    with pytest.raises(UnknownModelError, match="HTTP 404"):
        await run_candidate(
            anthropic_spec(fresh_sim, "no-such-model"),
            ITEMS,
            scorer=EXACT,
            sink=ListSink(),
            env=KEY,
        )
    profile = Profile(api_key="sk-right", models=[ModelProfile(name="locked")])
    with SimulatorServer(profile) as locked:
        spec = anthropic_spec(locked, "locked")
        with pytest.raises(AuthenticationFailed, match="HTTP 401"):
            await run_candidate(spec, ITEMS, scorer=EXACT, sink=ListSink(), env=KEY)
        s = await run_candidate(
            spec, ITEMS[:3], scorer=EXACT, sink=ListSink(), env={"SIM_KEY": "sk-right"}
        )
        assert s.items_done == 3 and locked.stats()["unauthorized"] == 1


async def test_params_litellm_cannot_map_are_a_configuration_error(
    fresh_sim: SimulatorServer,
) -> None:
    spec = anthropic_spec(fresh_sim, "perfect", params={"logit_bias": {"1": 2}})
    with pytest.raises(ConfigurationError, match="cannot map params"):
        open_provider(spec, resolve_route(spec), api_key="sk-sim")


async def test_anthropic_routes_use_the_direct_provider_unless_told_otherwise(
    fresh_sim: SimulatorServer,
) -> None:
    spec = anthropic_spec(fresh_sim, "perfect")
    provider = open_provider(spec, resolve_route(spec), api_key="sk-sim")
    assert isinstance(provider, LiteLLMDirectProvider)
    await provider.aclose()
    spec = anthropic_spec(fresh_sim, "perfect", transport="acompletion")
    assert not isinstance(
        open_provider(spec, resolve_route(spec), api_key="k"), LiteLLMDirectProvider
    )


def test_the_logging_stand_in_is_enough_for_litellm_s_anthropic_transform() -> None:
    """Fails if a litellm release makes transform_response use more of its logging object."""
    litellm = load_litellm()
    from litellm.utils import ProviderConfigManager

    config = ProviderConfigManager.get_provider_chat_config(
        model="claude-haiku-4-5", provider=litellm.LlmProviders("anthropic")
    )
    assert config is not None
    body = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-haiku-4-5-20251001",
        "content": [{"type": "text", "text": "billing"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 17, "output_tokens": 2},
    }
    url = "https://api.anthropic.com/v1/messages"
    reply = config.transform_response(
        model="claude-haiku-4-5",
        raw_response=httpx.Response(
            200, content=json.dumps(body).encode(), request=httpx.Request("POST", url)
        ),
        model_response=litellm.ModelResponse(),
        logging_obj=CallLoggingStandIn(),
        request_data={},
        messages=[{"role": "user", "content": "route this"}],
        optional_params={"max_tokens": 8},
        litellm_params={},
        encoding=None,
        api_key="k",
        json_mode=False,
    )
    assert reply.choices[0].message.content == "billing"
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (17, 2)


def test_endpoint_url_appends_the_provider_route_as_litellm_does() -> None:
    endpoint = DIRECT_PROVIDERS["anthropic"]
    assert endpoint_url(endpoint, None, {}) == "https://api.anthropic.com/v1/messages"
    assert endpoint_url(endpoint, "http://127.0.0.1:9", {}) == "http://127.0.0.1:9/v1/messages"
    off = {endpoint.suffix_off_env: "true"}
    assert endpoint_url(endpoint, "http://127.0.0.1:9/x", off) == "http://127.0.0.1:9/x"


def test_plain_text_detects_structured_content() -> None:
    assert plain_text([{"role": "user", "content": "hi"}])
    assert not plain_text([{"role": "user", "content": [{"type": "text", "text": "hi"}]}])


@pytest.mark.parametrize("status", [401, 403, 500])
@pytest.mark.parametrize(
    ("prefix", "transport", "kind"),
    [
        ("openai", "auto", "OpenAICompatibleProvider"),
        ("anthropic", "auto", "LiteLLMDirectProvider"),
        ("anthropic", "acompletion", "LiteLLMProvider"),
    ],
)
async def test_a_key_echoed_in_an_error_body_is_scrubbed_on_every_transport(
    status: int, prefix: str, transport: str, kind: str
) -> None:
    """A provider (or proxy) that quotes the key back: the engine's error, and its traceback
    as logged (the chained vendor exception included), carry no trace of it."""
    import io
    import logging
    import secrets
    from decimal import Decimal

    from tasks.evaluation.errors import TransientProviderError
    from tasks.evaluation.types import CandidateSpec, Limits, Pricing

    canary = "cnry" + secrets.token_hex(20)  # shaped like no key: only registration finds it
    model = f"echo-{status}"
    price = Decimal("0.000001")
    expected = AuthenticationFailed if status < 500 else TransientProviderError
    with EchoProvider() as echo:
        spec = CandidateSpec(
            name="echoed",
            route=f"{prefix}/{model}",
            api_base=echo.base_url if prefix == "openai" else echo.base_url.removesuffix("/v1"),
            transport=transport,  # type: ignore[arg-type]
            pricing=Pricing(input_usd_per_token=price, output_usd_per_token=price),
            limits=Limits(concurrency=2, timeout_s=5),
        )
        provider = open_provider(spec, resolve_route(spec), api_key=canary)
        assert type(provider).__name__ == kind
        try:
            with pytest.raises(expected) as caught:
                await provider.complete([{"role": "user", "content": "hi"}])
        finally:
            await provider.aclose()
    assert echo.requests_with(model, canary) == 1  # the key went out and came back

    out = io.StringIO()
    logger = logging.getLogger("tests.evaluation.echoed-key")
    logger.addHandler(handler := logging.StreamHandler(out))
    try:
        logger.error("provider failed", exc_info=caught.value)
    finally:
        logger.removeHandler(handler)
    assert f"HTTP {status}" in str(caught.value) and canary not in str(caught.value)
    assert "Traceback" in out.getvalue() and canary not in out.getvalue()
