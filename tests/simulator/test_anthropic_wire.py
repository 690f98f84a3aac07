"""The simulator's Anthropic Messages endpoint: reply and error shapes, key header, parsing."""

from __future__ import annotations

import aiohttp
import pytest

from relitigate.simulator import ModelProfile, Profile, SimulatorServer
from relitigate.simulator.behaviour import count_tokens
from relitigate.simulator.evalsets import ItemIndex, SimItem
from relitigate.simulator.wire import ANTHROPIC, OPENAI, BadRequest

pytestmark = pytest.mark.anyio


async def post(
    session: aiohttp.ClientSession,
    url: str,
    data: dict[str, object],
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], dict]:  # type: ignore[type-arg]
    async with session.post(url + "/v1/messages", json=data, headers=headers) as r:
        return r.status, dict(r.headers), await r.json()


def body(model: str, text: str = "hello", **extra: object) -> dict[str, object]:
    return {
        "model": model,
        "max_tokens": 8,
        "messages": [{"role": "user", "content": text}],
        **extra,
    }


async def test_messages_shape_system_prompt_and_errors() -> None:
    profile = Profile(
        seed=1,
        models=[
            ModelProfile(name="ok", version="ok-v2"),
            ModelProfile(name="broken", error_rate=1.0),
            ModelProfile(name="limited", rpm=60),
        ],
    )
    index = ItemIndex([("2+2?", SimItem("q1", "4"))])
    with SimulatorServer(profile, index) as sim:
        async with aiohttp.ClientSession() as s:
            blocks = [{"type": "text", "text": "2+2?"}]
            status, _, data = await post(
                s,
                sim.root_url,
                body("ok", blocks, system="Be brief."),  # type: ignore[arg-type]
            )
            assert status == 200
            assert data["type"] == "message" and data["model"] == "ok-v2"
            assert data["content"] == [{"type": "text", "text": "4"}]
            assert data["usage"] == {
                "input_tokens": count_tokens(len("Be brief.") + len("2+2?")),
                "output_tokens": count_tokens(1),
            }
            status, _, data = await post(s, sim.root_url, body("nope"))
            assert status == 404 and data["error"]["type"] == "not_found_error"
            status, _, data = await post(s, sim.root_url, body("broken"))
            assert status == 500 and data["type"] == "error"
            assert (await post(s, sim.root_url, body("limited")))[0] == 200
            status, headers, data = await post(s, sim.root_url, body("limited"))
            assert status == 429 and int(headers["Retry-After"]) >= 1
            assert data["error"]["type"] == "rate_limit_error"
            no_max = {"model": "ok", "messages": [{"role": "user", "content": "x"}]}
            status, _, data = await post(s, sim.root_url, no_max)
            assert status == 400 and "max_tokens" in data["error"]["message"]
        stats = sim.stats()
        assert stats["models"]["ok"]["completions"] == 1 and stats["unknown_model"] == 1


async def test_messages_want_the_key_in_x_api_key() -> None:
    profile = Profile(api_key="sk-sim", models=[ModelProfile(name="m")])
    with SimulatorServer(profile) as sim:
        async with aiohttp.ClientSession() as s:
            bearer = {"Authorization": "Bearer sk-sim"}
            status, _, data = await post(s, sim.root_url, body("m"), bearer)
            assert status == 401 and data["error"]["type"] == "authentication_error"
            assert (await post(s, sim.root_url, body("m"), {"x-api-key": "sk-sim"}))[0] == 200


def test_parsing_folds_the_system_prompt_into_the_messages() -> None:
    model, messages = ANTHROPIC.parse(body("m", system="S"))
    assert model == "m" and messages[0] == {"role": "system", "content": "S"}
    assert OPENAI.parse(body("m", system="S"))[1] == [{"role": "user", "content": "hello"}]
    for bad in ({"messages": []}, {"model": "m", "messages": "x", "max_tokens": 1}, []):
        with pytest.raises(BadRequest):
            ANTHROPIC.parse(bad)
