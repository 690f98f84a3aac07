"""The simulator's HTTP app: OpenAI- and Anthropic-shaped chat endpoints on loopback.

This is a **simulator** for dry runs, tests, demos and load tests: its models, answers,
latencies, errors and prices are declared in a profile file, not measured from any provider.

Routes:

- ``POST /v1/chat/completions``: OpenAI chat completions (non-streaming).
- ``POST /v1/messages``: the same models over the Anthropic Messages API (non-streaming), so
  a non-OpenAI provider route (``anthropic/<model>`` with this ``api_base``) can be tested;
  see :mod:`relitigate.simulator.wire`.
- ``GET /v1/models``: the profile's models.
- ``/v1/files`` and ``/v1/batches``: OpenAI's Batch API over the same models, answered after
  the profile's ``batch_delay_s`` (:mod:`relitigate.simulator.batches`).
- ``GET /stats``: per model ``requests``, ``completions`` (HTTP 200 fully sent),
  ``errors_injected`` (500), ``timeouts_injected``, ``rate_limited`` (429),
  ``disconnects_injected`` (connection closed without a reply), ``items_answered`` (distinct
  items), ``duplicate_completions`` (items answered again);
  overall ``in_flight``, ``max_in_flight``, ``unknown_model``, ``unauthorized``.
- ``POST /stats/reset``: zero the counters.
- ``POST /control/pause`` / ``POST /control/resume``: hold every reply until resumed (a test
  hook to freeze a run before killing its client).
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from typing import Any

from aiohttp import web

from relitigate.simulator import behaviour
from relitigate.simulator.batches import SimBatches
from relitigate.simulator.evalsets import ItemIndex, SimItem, last_user_text, message_text
from relitigate.simulator.models import Counters, SimModel
from relitigate.simulator.profile import Profile
from relitigate.simulator.wire import ANTHROPIC, OPENAI, BadRequest, Reply, Wire

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _error(
    wire: Wire,
    status: int,
    message: str,
    kind: str,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    body = wire.error(status, message, kind, code)
    return web.Response(
        status=status,
        body=json.dumps(body).encode(),
        content_type="application/json",
        headers=headers,
    )


def _disconnect(request: web.Request) -> web.Response:
    """Close the client's connection without a reply (the response is never sent)."""
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=500)


class SimulatorApp:
    """State and handlers of one simulator instance."""

    def __init__(self, profile: Profile, index: ItemIndex) -> None:
        self.profile = profile
        self.index = index
        self.models = {m.name: SimModel(m, profile.seed) for m in profile.models}
        self.in_flight = 0
        self.max_in_flight = 0
        self.unknown_model = 0
        self.unauthorized = 0
        self.resumed = asyncio.Event()
        self.resumed.set()
        self._ids = 0
        self._key = profile.api_key or None
        self.batches = SimBatches(self)

    def build(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application(client_max_size=16 * 1024**2)
        app.router.add_post(OPENAI.path, self.chat_completions)
        app.router.add_post(ANTHROPIC.path, self.messages)
        app.router.add_get("/v1/models", self.list_models)
        app.router.add_get("/stats", self.stats)
        app.router.add_post("/stats/reset", self.reset)
        app.router.add_post("/control/pause", self.pause)
        app.router.add_post("/control/resume", self.resume)
        self.batches.add_routes(app)
        return app

    async def chat_completions(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, OPENAI)

    async def messages(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, ANTHROPIC)

    async def _serve(self, request: web.Request, wire: Wire) -> web.StreamResponse:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._chat(request, wire)
        finally:
            self.in_flight -= 1

    async def _chat(self, request: web.Request, wire: Wire) -> web.StreamResponse:
        if self._key is not None and not wire.authorized(request.headers, self._key):
            self.unauthorized += 1
            return _error(
                wire, 401, "simulator: invalid API key", "invalid_request_error", "invalid_api_key"
            )
        try:
            name, messages = wire.parse(json.loads(await request.read()))
        except (ValueError, BadRequest) as exc:
            return _error(wire, 400, f"simulator: {exc}", "invalid_request_error")
        model = self.models.get(name)
        if model is None:
            self.unknown_model += 1
            return _error(
                wire,
                404,
                f"The model `{name}` does not exist (simulator)",
                "invalid_request_error",
                "model_not_found",
            )
        c = model.counters
        c.requests += 1
        wait = model.take_rate_token()
        if wait > 0:
            c.rate_limited += 1
            return _error(
                wire,
                429,
                "simulator: rate limit reached",
                "rate_limit_exceeded",
                "rate_limit_exceeded",
                {
                    "Retry-After": str(max(1, math.ceil(wait))),
                    "retry-after-ms": str(max(1, math.ceil(wait * 1000))),
                },
            )
        fault = await self._fault(request, wire, model)
        if fault is not None:
            return fault
        await asyncio.sleep(model.latency_s())
        if not self.resumed.is_set():
            await self.resumed.wait()
        return await self._answer(request, wire, model, messages)

    async def _fault(
        self, request: web.Request, wire: Wire, model: SimModel
    ) -> web.StreamResponse | None:
        """An injected server error, timeout or dropped connection, as the profile's rates
        say; None: answer normally."""
        c, p = model.counters, model.p
        roll = model.rng.random()
        if roll < p.error_rate:
            await asyncio.sleep(model.latency_s())
            c.errors_injected += 1
            return _error(wire, 500, "simulator: injected server error", "server_error")
        if roll < p.error_rate + p.timeout_rate:
            c.timeouts_injected += 1
            await asyncio.sleep(p.timeout_hold_s)
            return _error(wire, 504, "simulator: injected timeout", "server_error")
        if roll < p.error_rate + p.timeout_rate + p.disconnect_rate:
            c.disconnects_injected += 1
            return _disconnect(request)
        return None

    async def _answer(
        self, request: web.Request, wire: Wire, model: SimModel, messages: list[Any]
    ) -> web.StreamResponse:
        """The model's reply: right or wrong as its accuracy says, with token counts."""
        payload, item = self.compose(wire, model, messages)
        data = json.dumps(payload, separators=(",", ":")).encode()
        resp = web.Response(body=data, content_type="application/json")
        await resp.prepare(request)
        await resp.write_eof()
        model.counters.completions += 1
        if item is not None:
            model.counters.answered[item.id] = model.counters.answered.get(item.id, 0) + 1
        return resp

    def compose(
        self, wire: Wire, model: SimModel, messages: list[Any]
    ) -> tuple[dict[str, Any], SimItem | None]:
        """The reply body on ``wire``, and the eval item it answers (None: none found)."""
        p = model.p
        text = last_user_text(messages)
        item = None
        if p.role == "judge":
            content = behaviour.judge(p.name, p.accuracy, text)
        else:
            item = self.index.find(text)
            content = behaviour.answer(p.name, p.accuracy, item, text, self.index.targets)
        prompt_tokens = p.prompt_tokens
        if prompt_tokens is None:
            chars = sum(len(message_text(m.get("content"))) for m in messages)
            prompt_tokens = behaviour.count_tokens(chars)
        completion_tokens = p.completion_tokens
        if completion_tokens is None:
            completion_tokens = behaviour.count_tokens(len(content))
        self._ids += 1
        reply = Reply(self._ids, p.reported_model, content, prompt_tokens, completion_tokens)
        return wire.reply(reply, int(time.time())), item

    async def list_models(self, request: web.Request) -> web.Response:
        data = [
            {"id": m, "object": "model", "owned_by": "relitigate-simulator"} for m in self.models
        ]
        return web.json_response({"object": "list", "data": data})

    def snapshot(self) -> dict[str, Any]:
        """The counters as a JSON-ready dict."""
        return {
            "simulator": True,
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "unknown_model": self.unknown_model,
            "unauthorized": self.unauthorized,
            "paused": not self.resumed.is_set(),
            "models": {n: m.counters.as_dict() for n, m in self.models.items()},
            "batches": self.batches.stats(),
        }

    async def stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.snapshot())

    async def reset(self, request: web.Request) -> web.Response:
        for m in self.models.values():
            m.counters = Counters()
        self.max_in_flight = self.in_flight
        self.unknown_model = self.unauthorized = 0
        return web.json_response(self.snapshot())

    async def pause(self, request: web.Request) -> web.Response:
        self.resumed.clear()
        return web.json_response({"paused": True})

    async def resume(self, request: web.Request) -> web.Response:
        self.resumed.set()
        return web.json_response({"paused": False})


def check_loopback(host: str) -> None:
    """Refuse to bind anything but loopback: this simulator is not a service."""
    if host not in LOOPBACK_HOSTS:
        raise ValueError(f"the simulator binds loopback only; got host {host!r}, use 127.0.0.1")


async def start_site(app: SimulatorApp, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Start serving ``app`` on ``host:port`` (0: a free port); returns the runner and port."""
    check_loopback(host)
    runner = web.AppRunner(app.build(), access_log=None, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=4096, reuse_address=True)
    await site.start()
    server = site._server
    assert isinstance(server, asyncio.base_events.Server)
    bound = int(server.sockets[0].getsockname()[1])
    return runner, bound
