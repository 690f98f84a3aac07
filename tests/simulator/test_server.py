"""The simulator over HTTP: OpenAI shape, errors, rate limits, stats, 1000 connections."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from relitigate.simulator import ModelProfile, Profile, SimulatorProcess, SimulatorServer
from relitigate.simulator.evalsets import ItemIndex, SimItem

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]


def body(model: str, text: str = "hello") -> dict[str, object]:
    return {"model": model, "messages": [{"role": "user", "content": text}]}


async def post(
    session: aiohttp.ClientSession,
    url: str,
    data: dict[str, object],
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], dict]:  # type: ignore[type-arg]
    async with session.post(url + "/chat/completions", json=data, headers=headers) as r:
        return r.status, dict(r.headers), await r.json()


async def test_openai_shape_errors_and_stats() -> None:
    profile = Profile(
        seed=1,
        models=[
            ModelProfile(name="ok", version="ok-v2", completion_tokens=3, prompt_tokens=11),
            ModelProfile(name="broken", error_rate=1.0),
            ModelProfile(name="limited", rpm=60),
        ],
    )
    index = ItemIndex([("2+2?", SimItem("q1", "4"))])
    with SimulatorServer(profile, index) as sim:
        async with aiohttp.ClientSession() as s:
            status, _, data = await post(s, sim.base_url, body("ok", "2+2?"))
            assert status == 200
            assert data["model"] == "ok-v2" and data["object"] == "chat.completion"
            assert data["choices"][0]["message"] == {"role": "assistant", "content": "4"}
            assert data["usage"] == {
                "prompt_tokens": 11,
                "completion_tokens": 3,
                "total_tokens": 14,
            }
            status, _, data = await post(s, sim.base_url, body("nope"))
            assert status == 404 and data["error"]["code"] == "model_not_found"
            assert (await post(s, sim.base_url, body("broken")))[0] == 500
            assert (await post(s, sim.base_url, body("limited")))[0] == 200
            status, headers, _ = await post(s, sim.base_url, body("limited"))
            assert status == 429 and int(headers["Retry-After"]) >= 1
            assert 0 < int(headers["retry-after-ms"]) <= 1000
            async with s.get(sim.base_url + "/models") as r:
                assert {m["id"] for m in (await r.json())["data"]} == {"ok", "broken", "limited"}
        stats = sim.stats()
        assert stats["simulator"] is True and stats["unknown_model"] == 1
        assert stats["models"]["ok"]["completions"] == 1
        assert stats["models"]["ok"]["items_answered"] == 1
        assert stats["models"]["broken"]["errors_injected"] == 1
        assert stats["models"]["limited"]["rate_limited"] == 1
        assert sim.reset_stats()["models"]["ok"]["completions"] == 0


async def test_api_key_is_enforced_when_set() -> None:
    profile = Profile(api_key="sk-sim", models=[ModelProfile(name="m")])
    with SimulatorServer(profile) as sim:
        async with aiohttp.ClientSession() as s:
            assert (await post(s, sim.base_url, body("m")))[0] == 401
            ok = await post(s, sim.base_url, body("m"), {"Authorization": "Bearer sk-sim"})
            assert ok[0] == 200


def test_refuses_non_loopback_hosts() -> None:
    profile = Profile(models=[ModelProfile(name="m")])
    for host in ("0.0.0.0", "192.168.1.5", "example.com"):
        with pytest.raises(ValueError, match="loopback only"):
            SimulatorServer(profile, host=host)


async def test_holds_1000_concurrent_connections() -> None:
    profile = Profile(models=[ModelProfile(name="m", latency={"fixed_ms": 1500})])
    with SimulatorServer(profile) as sim:
        connector = aiohttp.TCPConnector(limit=0)
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as s:
            statuses = await asyncio.gather(
                *(post(s, sim.base_url, body("m")) for _ in range(1000))
            )
        assert all(st[0] == 200 for st in statuses)
        stats = sim.stats()
        assert stats["max_in_flight"] >= 1000
        assert stats["models"]["m"]["completions"] == 1000


def test_subprocess_and_module_entry_point(tmp_path: Path) -> None:
    profile = tmp_path / "p.yaml"
    profile.write_text("models:\n  - name: m\n")
    evalset = tmp_path / "e.jsonl"
    evalset.write_text(json.dumps({"id": "a", "input": "ping", "target": "pong"}) + "\n")
    with SimulatorProcess(profile, [evalset]) as sim:
        import urllib.request

        req = urllib.request.Request(
            sim.base_url + "/chat/completions",
            data=json.dumps(body("m", "ping")).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert json.loads(resp.read())["choices"][0]["message"]["content"] == "pong"
        assert sim.model_stats("m")["items_answered"] == 1
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "relitigate.simulator",
            "--profile",
            str(profile),
            "--host",
            "0.0.0.0",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=30,
    )
    assert out.returncode != 0 and "loopback only" in out.stderr


def test_sim_cli_help_says_simulator() -> None:
    import typer
    from typer.testing import CliRunner

    from relitigate.cli import eval_cmds

    app = typer.Typer()
    app.command()(lambda: None)
    eval_cmds.register(app)
    result = CliRunner().invoke(app, ["sim", "serve", "--help"])
    assert result.exit_code == 0 and "simulator" in result.output.lower()
    assert "--profile" in result.output and "--evalset" in result.output
