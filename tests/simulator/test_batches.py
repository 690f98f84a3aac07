"""The simulator's OpenAI Files and Batch endpoints over HTTP: a batch answers late, each line
as the chat endpoint would; errors go to the error file; list, cancel and the key check."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from relitigate.simulator import ModelProfile, Profile, SimulatorServer
from relitigate.simulator.evalsets import ItemIndex, SimItem

pytestmark = pytest.mark.anyio
KEY = {"Authorization": "Bearer sk-sim"}


def _line(custom_id: str, model: str, text: str) -> str:
    body = {"model": model, "messages": [{"role": "user", "content": text}]}
    return json.dumps(
        {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": body}
    )


async def _upload(s: aiohttp.ClientSession, base: str, lines: list[str]) -> dict[str, Any]:
    form = aiohttp.FormData()
    form.add_field("purpose", "batch")
    form.add_field("file", ("\n".join(lines) + "\n").encode(), filename="in.jsonl")
    async with s.post(f"{base}/files", data=form, headers=KEY) as r:
        assert r.status == 200
        data: dict[str, Any] = await r.json()
        return data


async def _json(s: aiohttp.ClientSession, method: str, url: str, **kw: Any) -> Any:
    async with s.request(method, url, headers=KEY, **kw) as r:
        return r.status, await r.json()


async def _content(s: aiohttp.ClientSession, base: str, file_id: str) -> list[dict[str, Any]]:
    async with s.get(f"{base}/files/{file_id}/content", headers=KEY) as r:
        assert r.status == 200
        return [json.loads(line) for line in (await r.read()).splitlines()]


async def test_a_batch_answers_each_line_after_its_delay() -> None:
    profile = Profile(
        api_key="sk-sim",
        batch_delay_s=0.3,
        models=[
            ModelProfile(name="ok", completion_tokens=2, prompt_tokens=5),
            ModelProfile(name="broken", error_rate=1.0),
        ],
    )
    index = ItemIndex([("2+2?", SimItem("q1", "4")), ("3+3?", SimItem("q2", "6"))])
    with SimulatorServer(profile, index) as sim:
        base = sim.base_url
        async with aiohttp.ClientSession() as s:
            lines = [_line("a", "ok", "2+2?"), _line("b", "ok", "3+3?"), _line("c", "broken", "x")]
            uploaded = await _upload(s, base, lines)
            meta = {"relitigate_batch": "k1"}
            status, batch = await _json(
                s, "POST", f"{base}/batches",
                json={"input_file_id": uploaded["id"], "endpoint": "/v1/chat/completions",
                      "completion_window": "24h", "metadata": meta},
            )  # fmt: skip
            assert status == 200 and batch["status"] == "in_progress"
            assert batch["metadata"] == meta
            assert sim.model_stats("ok")["requests"] == 0  # nothing answered before the delay

            await asyncio.sleep(0.35)
            status, done = await _json(s, "GET", f"{base}/batches/{batch['id']}")
            out = await _content(s, base, done["output_file_id"])
            errors = await _content(s, base, done["error_file_id"])
            status, listed = await _json(s, "GET", f"{base}/batches", params={"limit": "5"})
        stats, answered = sim.stats()["batches"], sim.model_stats("ok")["items_answered"]

    assert done["status"] == "completed"
    assert done["request_counts"] == {"total": 3, "completed": 2, "failed": 1}
    answers = {r["custom_id"]: r["response"]["body"]["choices"][0]["message"]["content"]
               for r in out}  # fmt: skip
    assert answers == {"a": "4", "b": "6"}
    assert out[0]["response"]["body"]["usage"]["prompt_tokens"] == 5
    assert [(e["custom_id"], e["response"]["status_code"]) for e in errors] == [("c", 500)]
    assert [b["id"] for b in listed["data"]] == [batch["id"]]
    assert stats == {"created": 1, "files": 3}
    assert answered == 2


async def test_cancel_list_order_and_key() -> None:
    profile = Profile(api_key="sk-sim", batch_delay_s=60, models=[ModelProfile(name="ok")])
    with SimulatorServer(profile) as sim:
        base = sim.base_url
        async with aiohttp.ClientSession() as s:
            async with s.post(f"{base}/batches", json={}) as r:
                assert r.status == 401
            uploaded = await _upload(s, base, [_line("a", "ok", "hi")])
            ids = []
            for _ in range(3):
                _, b = await _json(s, "POST", f"{base}/batches",
                                   json={"input_file_id": uploaded["id"],
                                         "endpoint": "/v1/chat/completions"})  # fmt: skip
                ids.append(b["id"])
            _, page = await _json(s, "GET", f"{base}/batches", params={"limit": "2"})
            _, rest = await _json(s, "GET", f"{base}/batches", params={"after": page["last_id"]})
            _, cancelled = await _json(s, "POST", f"{base}/batches/{ids[0]}/cancel")
            status, _ = await _json(s, "POST", f"{base}/batches",
                                    json={"input_file_id": "file-nope",
                                          "endpoint": "/v1/chat/completions"})  # fmt: skip
        requests = sim.model_stats("ok")["requests"]

    assert [b["id"] for b in page["data"]] == ids[:0:-1] and page["has_more"] is True
    assert [b["id"] for b in rest["data"]] == ids[:1] and rest["has_more"] is False
    assert cancelled["status"] == "cancelled" and cancelled["output_file_id"] is None
    assert status == 400
    assert requests == 0


async def test_no_batch_completes_while_the_simulator_is_paused() -> None:
    profile = Profile(api_key="sk-sim", batch_delay_s=0, models=[ModelProfile(name="ok")])
    with SimulatorServer(profile) as sim:
        base = sim.base_url
        async with aiohttp.ClientSession() as s:
            uploaded = await _upload(s, base, [_line("a", "ok", "hi")])
            sim.pause()
            _, batch = await _json(s, "POST", f"{base}/batches",
                                   json={"input_file_id": uploaded["id"],
                                         "endpoint": "/v1/chat/completions"})  # fmt: skip
            _, held = await _json(s, "GET", f"{base}/batches/{batch['id']}")
            sim.resume()
            _, done = await _json(s, "GET", f"{base}/batches/{batch['id']}")

    assert held["status"] == "in_progress" and held["output_file_id"] is None
    assert done["status"] == "completed" and done["request_counts"]["completed"] == 1


async def test_a_batch_over_the_request_limit_fails_as_a_whole() -> None:
    profile = Profile(batch_delay_s=0, batch_max_requests=2, models=[ModelProfile(name="ok")])
    with SimulatorServer(profile) as sim:
        base = sim.base_url
        async with aiohttp.ClientSession() as s:
            lines = [_line(c, "ok", "hi") for c in "abc"]
            uploaded = await _upload(s, base, lines)
            _, batch = await _json(s, "POST", f"{base}/batches",
                                   json={"input_file_id": uploaded["id"],
                                         "endpoint": "/v1/chat/completions"})  # fmt: skip
            _, failed = await _json(s, "GET", f"{base}/batches/{batch['id']}")
        requests = sim.model_stats("ok")["requests"]

    assert failed["status"] == "failed" and failed["failed_at"] is not None
    assert [e["code"] for e in failed["errors"]["data"]] == ["too_many_tasks"]
    assert failed["output_file_id"] is None and failed["error_file_id"] is None
    assert requests == 0
