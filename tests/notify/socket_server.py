"""The loopback Slack server, plus what notice actions use: Socket Mode and signed requests.

:class:`InteractiveSlackServer` extends :class:`~tests.notify.slack_server.SlackServer` with

- ``apps.connections.open`` (checks the app-level token; answers a ``ws://`` URL on loopback)
  and a WebSocket endpoint speaking Socket Mode envelopes: ``hello`` on connect,
  ``events_api`` and ``interactive`` envelopes pushed by the test, and the client's acks
  recorded by envelope id;
- ``chat.postEphemeral``, ``views.open`` and ``usergroups.users.list``.

:func:`signed_post` sends an interactivity request the way Slack signs it (v0 HMAC-SHA256
of ``v0:timestamp:body`` with the signing secret), or with a signature of the test's choice.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlencode, urlparse

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

from tests.notify.slack_server import Call, SlackServer


@dataclass
class Ephemeral:
    """A message shown to one user only."""

    channel: str
    user: str
    text: str


@dataclass
class SocketState:
    """What the Socket Mode side saw."""

    acks: list[str] = field(default_factory=list)
    """Envelope ids the client acknowledged, in order."""
    connections: int = 0
    views: list[dict[str, Any]] = field(default_factory=list)
    ephemerals: list[Ephemeral] = field(default_factory=list)
    groups: dict[str, list[str]] = field(default_factory=dict)


class InteractiveSlackServer(SlackServer):
    """The Web API server plus Socket Mode; ``app_token`` is the ``xapp-`` token it accepts."""

    def __init__(self, token: str, *, app_token: str) -> None:
        super().__init__(token)
        self.app_token = app_token
        self.socket = SocketState()
        self._ws: Server | None = None
        self._clients: list[ServerConnection] = []
        self._acked = threading.Condition()

    # --- lifecycle ---------------------------------------------------------------------
    def start(self) -> InteractiveSlackServer:
        super().start()
        self._ws = serve(self._session, "127.0.0.1", 0, ping_interval=None)
        threading.Thread(target=self._ws.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._ws is not None:
            self._ws.shutdown()
        super().stop()

    def __enter__(self) -> InteractiveSlackServer:
        return self.start()

    @property
    def ws_url(self) -> str:
        assert self._ws is not None
        return f"ws://127.0.0.1:{self._ws.socket.getsockname()[1]}/link/"

    # --- Socket Mode -------------------------------------------------------------------
    def _session(self, conn: ServerConnection) -> None:
        with self._acked:
            self.socket.connections += 1
            self._clients.append(conn)
        conn.send(json.dumps({"type": "hello", "num_connections": 1, "debug_info": {}}))
        try:
            for raw in conn:
                message = json.loads(raw)
                if "envelope_id" in message:
                    with self._acked:
                        self.socket.acks.append(str(message["envelope_id"]))
                        self._acked.notify_all()
        except ConnectionClosed:  # the client went away without a close frame
            return

    def wait_connected(self, timeout: float = 10) -> None:
        """Until a Socket Mode client is connected."""
        deadline = time.monotonic() + timeout
        while not self._clients and time.monotonic() < deadline:
            time.sleep(0.02)
        assert self._clients, "no Socket Mode client connected"

    def push(self, kind: str, payload: dict[str, Any], *, envelope_id: str | None = None) -> str:
        """Send an envelope (``interactive``, ``events_api``) to the newest client; its id."""
        envelope_id = envelope_id or str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id, "type": kind, "payload": payload,
            "accepts_response_payload": False, "retry_attempt": 0, "retry_reason": "",
        }  # fmt: skip
        self._clients[-1].send(json.dumps(envelope))
        return envelope_id

    def wait_ack(self, envelope_id: str, timeout: float = 10) -> None:
        """Until the client acknowledged ``envelope_id`` (its ack is what Slack waits for)."""
        with self._acked:
            assert self._acked.wait_for(lambda: envelope_id in self.socket.acks, timeout), (
                f"envelope {envelope_id} was not acknowledged"
            )

    # --- Web API additions -------------------------------------------------------------
    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        if urlparse(req.path).path.endswith("/apps.connections.open"):
            length = int(req.headers.get("Content-Length") or 0)
            req.rfile.read(length)
            authorized = req.headers.get("Authorization") == f"Bearer {self.app_token}"
            with self._lock:
                self.calls.append(Call("apps.connections.open", {}, authorized))
            body = (
                {"ok": True, "url": self.ws_url}
                if authorized
                else {"ok": False, "error": "invalid_auth"}
            )
            self._send(req, 200, body)
            return
        super()._handle(req)

    def _api_chat_postEphemeral(self, args: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        channel, error = self._channel(str(args.get("channel", "")))
        if channel is None:
            return 200, {"ok": False, "error": error}
        self.socket.ephemerals.append(
            Ephemeral(channel, str(args.get("user")), str(args.get("text")))
        )
        return 200, {"ok": True, "message_ts": f"{time.time():.6f}"}

    def _api_views_open(self, args: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        view = args.get("view")
        view = json.loads(view) if isinstance(view, str) else view
        if not args.get("trigger_id") or not isinstance(view, dict):
            return 200, {"ok": False, "error": "invalid_arguments"}
        view = {**view, "id": f"V{len(self.socket.views) + 1:06d}"}
        self.socket.views.append(view)
        return 200, {"ok": True, "view": view}

    def _api_usergroups_users_list(self, args: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        group = self.socket.groups.get(str(args.get("usergroup")))
        if group is None:
            return 200, {"ok": False, "error": "no_such_subteam"}
        return 200, {"ok": True, "users": list(group)}


def sign(secret: str, body: bytes, timestamp: str) -> str:
    """Slack's v0 request signature."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_post(
    url: str,
    payload: dict[str, Any],
    *,
    secret: str | None,
    timestamp: float | None = None,
    signature: str | None = None,
) -> int:
    """POST an interaction payload as Slack does; the HTTP status. ``secret=None`` sends no
    signature headers; ``signature`` overrides the computed one."""
    body = urlencode({"payload": json.dumps(payload)}).encode()
    stamp = str(int(time.time() if timestamp is None else timestamp))
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if secret is not None:
        headers["X-Slack-Request-Timestamp"] = stamp
        headers["X-Slack-Signature"] = signature or sign(secret, body, stamp)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def click(
    action: str, *, user: str, channel: str, ts: str, action_ts: str = "1.1"
) -> dict[str, Any]:
    """A ``block_actions`` payload: ``user`` clicked ``action`` on message ``ts``."""
    return {
        "type": "block_actions",
        "user": {"id": user},
        "trigger_id": f"trigger-{action_ts}",
        "container": {"type": "message", "message_ts": ts, "channel_id": channel},
        "channel": {"id": channel},
        "message": {"ts": ts},
        "actions": [
            {"action_id": f"relitigate_{action}", "block_id": "relitigate_actions",
             "type": "button", "value": "x", "action_ts": action_ts}
        ],
    }  # fmt: skip


def dispute_submission(view: dict[str, Any], *, user: str, reason: str) -> dict[str, Any]:
    """The dispute modal ``view`` submitted by ``user`` with ``reason``."""
    state = {"values": {"reason": {"reason": {"type": "plain_text_input", "value": reason}}}}
    return {"type": "view_submission", "user": {"id": user}, "view": {**view, "state": state}}
