"""The simulator's OpenAI Files and Batch endpoints: a batch of chat requests, answered late.

Routes (OpenAI's shapes, what ``litellm.acreate_file`` / ``acreate_batch`` /
``aretrieve_batch`` / ``alist_batches`` / ``afile_content`` send):

- ``POST /v1/files`` (multipart ``file`` + ``purpose``), ``GET /v1/files/{id}``,
  ``GET /v1/files/{id}/content``.
- ``POST /v1/batches`` (``input_file_id``, ``endpoint``, ``completion_window``,
  ``metadata``), ``GET /v1/batches/{id}``, ``POST /v1/batches/{id}/cancel``,
  ``GET /v1/batches`` (newest first, ``after`` and ``limit``).

A batch is ``in_progress`` until the profile's ``batch_delay_s`` has passed since its
creation; the first look after that answers every line as the chat endpoint would (the same
answers, token counts and injected server errors, counted in the same per-model counters),
writes the output and error files, and marks it ``completed``. A batch with more lines
than the profile's ``batch_max_requests`` (OpenAI's 50,000) ends ``failed`` instead, with
``errors`` and no files. A cancelled batch answers
nothing, and no batch completes while the simulator is paused (``/control/pause``).
``GET /stats`` shows ``batches.created`` (submissions) and ``batches.files``.

Anthropic's Message Batches are not served: the pinned litellm cannot create them.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from relitigate.simulator.wire import OPENAI

if TYPE_CHECKING:
    from relitigate.simulator.server import SimulatorApp


@dataclass
class _File:
    id: str
    filename: str
    purpose: str
    data: bytes
    created_at: int

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id, "object": "file", "bytes": len(self.data), "created_at": self.created_at,
            "filename": self.filename, "purpose": self.purpose, "status": "processed",
        }  # fmt: skip


@dataclass
class _Batch:
    id: str
    input_file_id: str
    endpoint: str
    window: str
    metadata: dict[str, str] | None
    created: float
    status: str = "in_progress"
    output_file_id: str | None = None
    error_file_id: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    ended_at: int | None = None
    errors: list[dict[str, Any]] | None = None
    """Why the batch failed as a whole (``status: failed``)."""

    def describe(self) -> dict[str, Any]:
        created = int(self.created)
        return {
            "id": self.id, "object": "batch", "endpoint": self.endpoint,
            "errors": {"object": "list", "data": self.errors} if self.errors else None,
            "input_file_id": self.input_file_id, "completion_window": self.window,
            "status": self.status, "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id, "created_at": created,
            "in_progress_at": created, "expires_at": created + 86_400,
            "completed_at": self.ended_at if self.status == "completed" else None,
            "cancelled_at": self.ended_at if self.status == "cancelled" else None,
            "failed_at": self.ended_at if self.status == "failed" else None,
            "request_counts": {"total": 0, "completed": 0, "failed": 0, **self.counts},
            "metadata": self.metadata,
        }  # fmt: skip


def _error(status: int, message: str, kind: str = "invalid_request_error") -> web.Response:
    return web.json_response(OPENAI.error(status, message, kind, None), status=status)


class SimBatches:
    """The files and batches one simulator instance holds (in memory)."""

    def __init__(self, app: SimulatorApp) -> None:
        self.app = app
        self.files: dict[str, _File] = {}
        self.batches: dict[str, _Batch] = {}
        self._ids = itertools.count(1)

    def add_routes(self, web_app: web.Application) -> None:
        """Register the files and batches routes on ``web_app``."""
        r = web_app.router
        r.add_post("/v1/files", self.create_file)
        r.add_get("/v1/files/{file_id}", self.get_file)
        r.add_get("/v1/files/{file_id}/content", self.file_content)
        r.add_post("/v1/batches", self.create_batch)
        r.add_get("/v1/batches", self.list_batches)
        r.add_get("/v1/batches/{batch_id}", self.get_batch)
        r.add_post("/v1/batches/{batch_id}/cancel", self.cancel_batch)

    def stats(self) -> dict[str, int]:
        """``batches`` in ``GET /stats``."""
        return {"created": len(self.batches), "files": len(self.files)}

    def _denied(self, request: web.Request) -> web.Response | None:
        key = self.app.profile.api_key
        if key and not OPENAI.authorized(request.headers, key):
            self.app.unauthorized += 1
            return _error(401, "simulator: invalid API key")
        return None

    def _new_file(self, filename: str, purpose: str, data: bytes) -> _File:
        f = _File(f"file-sim-{next(self._ids)}", filename, purpose, data, int(time.time()))
        self.files[f.id] = f
        return f

    async def create_file(self, request: web.Request) -> web.Response:
        if (denied := self._denied(request)) is not None:
            return denied
        form = await request.post()
        upload, purpose = form.get("file"), form.get("purpose")
        if not isinstance(upload, web.FileField) or not isinstance(purpose, str):
            return _error(400, "simulator: POST /v1/files takes multipart file and purpose")
        f = self._new_file(upload.filename, purpose, upload.file.read())
        return web.json_response(f.describe())

    async def get_file(self, request: web.Request) -> web.Response:
        f = self.files.get(request.match_info["file_id"])
        if (denied := self._denied(request)) is not None:
            return denied
        return web.json_response(f.describe()) if f else _error(404, "simulator: no such file")

    async def file_content(self, request: web.Request) -> web.Response:
        f = self.files.get(request.match_info["file_id"])
        if (denied := self._denied(request)) is not None:
            return denied
        if f is None:
            return _error(404, "simulator: no such file")
        return web.Response(body=f.data, content_type="application/octet-stream")

    async def create_batch(self, request: web.Request) -> web.Response:
        if (denied := self._denied(request)) is not None:
            return denied
        try:
            body = json.loads(await request.read())
            file_id, endpoint = body["input_file_id"], body["endpoint"]
        except (ValueError, KeyError, TypeError):
            return _error(400, "simulator: a batch needs input_file_id and endpoint")
        if file_id not in self.files:
            return _error(400, f"simulator: no file {file_id!r}")
        if endpoint != "/v1/chat/completions":
            return _error(400, f"simulator: endpoint {endpoint!r} is not served in batches")
        batch = _Batch(
            f"batch_sim_{next(self._ids)}", file_id, endpoint,
            str(body.get("completion_window", "24h")), body.get("metadata"), time.time(),
        )  # fmt: skip
        self.batches[batch.id] = batch
        return web.json_response(batch.describe())

    def _looked_at(self, batch: _Batch) -> _Batch:
        """``batch``, answered if its delay has passed since it was created."""
        due = time.time() - batch.created >= self.app.profile.batch_delay_s
        if batch.status == "in_progress" and due and self.app.resumed.is_set():
            self._answer(batch)
        return batch

    async def get_batch(self, request: web.Request) -> web.Response:
        if (denied := self._denied(request)) is not None:
            return denied
        batch = self.batches.get(request.match_info["batch_id"])
        if batch is None:
            return _error(404, "simulator: no such batch")
        return web.json_response(self._looked_at(batch).describe())

    async def cancel_batch(self, request: web.Request) -> web.Response:
        if (denied := self._denied(request)) is not None:
            return denied
        batch = self.batches.get(request.match_info["batch_id"])
        if batch is None:
            return _error(404, "simulator: no such batch")
        if self._looked_at(batch).status == "in_progress":
            batch.status, batch.ended_at = "cancelled", int(time.time())
        return web.json_response(batch.describe())

    async def list_batches(self, request: web.Request) -> web.Response:
        if (denied := self._denied(request)) is not None:
            return denied
        newest = list(reversed(self.batches.values()))
        after = request.query.get("after")
        if after is not None:
            ids = [b.id for b in newest]
            newest = newest[ids.index(after) + 1 :] if after in ids else []
        limit = int(request.query.get("limit", "20"))
        page = [self._looked_at(b).describe() for b in newest[:limit]]
        return web.json_response({
            "object": "list", "data": page, "has_more": len(newest) > limit,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
        })  # fmt: skip

    def _answer(self, batch: _Batch) -> None:
        """Answer every line of the batch's input file into its output and error files (or
        fail the whole batch, answering nothing, when it has too many lines)."""
        lines = self.files[batch.input_file_id].data.splitlines()
        limit = self.app.profile.batch_max_requests
        if sum(1 for raw in lines if raw.strip()) > limit:
            message = f"simulator: the batch has more than {limit} requests"
            batch.errors = [{"code": "too_many_tasks", "line": None, "message": message}]
            batch.status, batch.ended_at = "failed", int(time.time())
            return
        out: list[str] = []
        errors: list[str] = []
        for n, raw in enumerate(lines):
            if not raw.strip():
                continue
            line = json.loads(raw)
            status, body = self._line(line.get("body") or {})
            entry = {
                "id": f"batch_req_sim_{batch.id}_{n}", "custom_id": line.get("custom_id"),
                "response": {"status_code": status, "request_id": f"req_sim_{n}", "body": body},
                "error": None,
            }  # fmt: skip
            (out if status == 200 else errors).append(json.dumps(entry))
        batch.counts = {"total": len(out) + len(errors), "completed": len(out),
                        "failed": len(errors)}  # fmt: skip
        if out:
            name = f"{batch.id}_output.jsonl"
            batch.output_file_id = self._new_file(name, "batch_output", _jsonl(out)).id
        if errors:
            name = f"{batch.id}_error.jsonl"
            batch.error_file_id = self._new_file(name, "batch_output", _jsonl(errors)).id
        batch.status, batch.ended_at = "completed", int(time.time())

    def _line(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """One request line's status and reply body, as the chat endpoint would answer."""
        try:
            name, messages = OPENAI.parse(body)
        except ValueError as exc:
            return 400, OPENAI.error(400, f"simulator: {exc}", "invalid_request_error", None)
        model = self.app.models.get(name)
        if model is None:
            self.app.unknown_model += 1
            message = f"The model `{name}` does not exist (simulator)"
            return 404, OPENAI.error(404, message, "invalid_request_error", "model_not_found")
        model.counters.requests += 1
        if model.rng.random() < model.p.error_rate:
            model.counters.errors_injected += 1
            return 500, OPENAI.error(500, "simulator: injected server error", "server_error", None)
        payload, item = self.app.compose(OPENAI, model, messages)
        model.counters.completions += 1
        if item is not None:
            model.counters.answered[item.id] = model.counters.answered.get(item.id, 0) + 1
        return 200, payload


def _jsonl(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()
