"""A loopback Slack-compatible Web API server for tests (stdlib ``http.server`` in a thread).

It speaks the few methods notices use (``users.lookupByEmail``, ``conversations.open``,
``conversations.list``, ``chat.postMessage``, ``conversations.history``,
``conversations.replies``), checks the bot token, keeps the messages it accepted, and
records every call. Scenarios script failures per method::

    server.script("chat.postMessage", Fail(status=429, retry_after=1))   # then succeeds
    server.script("chat.postMessage", Fail(status=500, accept=True))     # posts, answers 500
    server.script("chat.postMessage", None, Fail(error="token_revoked")) # ok, then refused
    server.outage = True                                                 # every call 500s
    server.token = "xoxb-new"                                            # rotate: the old one
                                                                         # gets invalid_auth
    server.echo_token = True        # error bodies repeat the Authorization header they got,
                                    # as a careless proxy would (hostile, for leak tests)

Point a client at it with ``base_url=server.base_url``.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass(frozen=True)
class Fail:
    """One scripted failure.

    Attributes:
        status: HTTP status (200 with ``error`` for Slack API errors, 429, 500...).
        error: Slack's error code in an ``ok: false`` body.
        retry_after: ``Retry-After`` seconds for a 429.
        accept: Do the work (post the message) before failing: the response is lost.
        drop: Close the connection without answering (after the work, if ``accept``).
    """

    status: int = 200
    error: str | None = None
    retry_after: int | None = None
    accept: bool = False
    drop: bool = False


@dataclass
class Call:
    """One request the server received (the token is never kept, only whether it matched)."""

    method: str
    args: dict[str, Any]
    authorized: bool


@dataclass
class Message:
    """A message the server accepted."""

    channel: str
    ts: str
    text: str
    blocks: list[Any] | None
    thread_ts: str | None
    metadata: dict[str, Any] | None


@dataclass
class SlackState:
    """The workspace: users, channels, messages."""

    users: dict[str, str] = field(default_factory=dict)
    """email -> user id."""
    inactive: set[str] = field(default_factory=set)
    channels: dict[str, str] = field(default_factory=dict)
    """channel id or ``#name`` -> channel id."""
    members: set[str] = field(default_factory=set)
    """channel ids the bot is in (posting elsewhere: ``not_in_channel``)."""
    archived: set[str] = field(default_factory=set)
    messages: list[Message] = field(default_factory=list)


class SlackServer:
    """The server; use as a context manager or call :meth:`start` / :meth:`stop`."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.state = SlackState()
        self.calls: list[Call] = []
        self.outage = False
        self.echo_token = False
        """Every error body repeats the request's Authorization header (in ``error`` and in
        ``warning``), as a hostile or careless server would."""
        self.list_scope_missing = False
        """``conversations.list`` answers ``missing_scope`` (a bot without channels:read)."""
        self._scripts: dict[str, deque[Fail | None]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- setup -------------------------------------------------------------------------
    def add_user(self, email: str, user_id: str, *, inactive: bool = False) -> None:
        """A workspace member."""
        self.state.users[email.lower()] = user_id
        if inactive:
            self.state.inactive.add(user_id)

    def add_channel(self, channel_id: str, *, name: str | None = None, member: bool = True) -> None:
        """A channel, optionally with a ``#name``; ``member=False``: the bot is not in it."""
        self.state.channels[channel_id] = channel_id
        if name:
            self.state.channels[f"#{name.lstrip('#')}"] = channel_id
        if member:
            self.state.members.add(channel_id)

    def script(self, method: str, *failures: Fail | None) -> None:
        """Answer the next calls of ``method`` with these failures, in order (None: answer
        that call normally)."""
        with self._lock:
            self._scripts[method].extend(failures)

    # --- inspection --------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/api/``."""
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/api/"

    def calls_to(self, method: str) -> list[Call]:
        """Recorded calls of one method."""
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def messages_in(self, channel_id: str) -> list[Message]:
        """Accepted messages in one channel, oldest first."""
        with self._lock:
            return [m for m in self.state.messages if m.channel == channel_id]

    # --- lifecycle ---------------------------------------------------------------------
    def start(self) -> SlackServer:
        """Listen on a free loopback port in a daemon thread."""
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def do_GET(self) -> None:
                server._handle(self)

            def do_POST(self) -> None:
                server._handle(self)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    def __enter__(self) -> SlackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- request handling --------------------------------------------------------------
    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        url = urlparse(req.path)
        method = url.path.rsplit("/", 1)[-1]
        args: dict[str, Any] = {k: v[-1] for k, v in parse_qs(url.query).items()}
        length = int(req.headers.get("Content-Length") or 0)
        body = req.rfile.read(length) if length else b""
        if body:
            if "json" in (req.headers.get("Content-Type") or ""):
                args.update(json.loads(body))
            else:
                args.update({k: v[-1] for k, v in parse_qs(body.decode()).items()})
        for key in ("blocks", "metadata"):
            if isinstance(args.get(key), str):
                args[key] = json.loads(args[key])
        presented = req.headers.get("Authorization") or ""
        authorized = presented == f"Bearer {self.token}"
        req.presented = presented  # type: ignore[attr-defined]
        with self._lock:
            self.calls.append(
                Call(method, {k: v for k, v in args.items() if k != "token"}, authorized)
            )
            fail = self._scripts[method].popleft() if self._scripts[method] else None
            outage = self.outage
        if outage:
            self._send(req, 500, {"ok": False, "error": "internal_error"})
            return
        if fail is not None and not fail.accept:
            self._fail(req, fail)
            return
        if not authorized:
            self._send(req, 200, {"ok": False, "error": "invalid_auth"})
            return
        with self._lock:
            status, payload = self._dispatch(method, args)
        if fail is not None:
            self._fail(req, fail)
            return
        self._send(req, status, payload)

    def _fail(self, req: BaseHTTPRequestHandler, fail: Fail) -> None:
        if fail.drop:
            req.close_connection = True
            req.connection.close()
            return
        headers = {"Retry-After": str(fail.retry_after)} if fail.retry_after is not None else {}
        error = fail.error or ("ratelimited" if fail.status == 429 else "internal_error")
        self._send(req, fail.status, {"ok": False, "error": error}, headers)

    def _send(
        self,
        req: BaseHTTPRequestHandler,
        status: int,
        payload: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        if self.echo_token and payload.get("ok") is False:
            presented = getattr(req, "presented", "")
            payload = {
                **payload,
                "error": f"{payload.get('error')}: you sent {presented}",
                "warning": f"request_header Authorization={presented}",
            }
        body = json.dumps(payload).encode()
        req.send_response(status)
        req.send_header("Content-Type", "application/json; charset=utf-8")
        req.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            req.send_header(k, v)
        req.end_headers()
        req.wfile.write(body)

    def _dispatch(self, method: str, args: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        handler = getattr(self, "_api_" + method.replace(".", "_"), None)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method"}
        result: tuple[int, dict[str, Any]] = handler(args)
        return result

    def _api_users_lookupByEmail(self, args: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        user = self.state.users.get(str(args.get("email", "")).lower())
        if user is None:
            return 200, {"ok": False, "error": "users_not_found"}
        return 200, {"ok": True, "user": {"id": user}}

    def _api_conversations_open(self, args: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        user = str(args.get("users", ""))
        if user not in self.state.users.values():
            return 200, {"ok": False, "error": "user_not_found"}
        if user in self.state.inactive:
            return 200, {"ok": False, "error": "user_disabled"}
        dm = "D" + user[1:]
        self.state.channels[dm] = dm
        self.state.members.add(dm)
        return 200, {"ok": True, "channel": {"id": dm}}

    def _channel(self, name: str) -> tuple[str | None, str | None]:
        channel = self.state.channels.get(name)
        if channel is None:
            return None, "channel_not_found"
        if channel in self.state.archived:
            return None, "is_archived"
        if channel not in self.state.members:
            return None, "not_in_channel"
        return channel, None

    def _api_chat_postMessage(self, args: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        channel, error = self._channel(str(args.get("channel", "")))
        if channel is None:
            return 200, {"ok": False, "error": error}
        thread_ts = args.get("thread_ts")
        if thread_ts and not any(
            m.ts == thread_ts and m.channel == channel for m in self.state.messages
        ):
            return 200, {"ok": False, "error": "thread_not_found"}
        ts = f"1700000000.{next(self._ts):06d}"
        message = Message(
            channel=channel,
            ts=ts,
            text=str(args.get("text", "")),
            blocks=args.get("blocks"),
            thread_ts=thread_ts,
            metadata=args.get("metadata"),
        )
        self.state.messages.append(message)
        return 200, {"ok": True, "channel": channel, "ts": ts, "message": {"ts": ts}}

    def _render(self, m: Message, with_metadata: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "message", "ts": m.ts, "text": m.text}
        if m.thread_ts:
            out["thread_ts"] = m.thread_ts
        if with_metadata and m.metadata:
            out["metadata"] = m.metadata
        return out

    def _api_conversations_list(self, args: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Channels with a name, ``limit`` per page, paged with an opaque cursor."""
        if self.list_scope_missing:
            return 200, {"ok": False, "error": "missing_scope"}
        named = sorted(
            (name.lstrip("#"), cid)
            for name, cid in self.state.channels.items()
            if name.startswith("#") and cid not in self.state.archived
        )
        start = int(str(args.get("cursor") or "0"))
        limit = min(int(str(args.get("limit") or "100")), 100)  # Slack may return fewer
        page = named[start : start + limit]
        more = start + limit < len(named)
        return 200, {
            "ok": True,
            "channels": [{"id": cid, "name": name} for name, cid in page],
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _api_conversations_history(self, args: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        channel, error = self._channel(str(args.get("channel", "")))
        if channel is None or not str(args.get("channel", "")).startswith(("C", "D", "G")):
            return 200, {"ok": False, "error": error or "channel_not_found"}
        meta = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        top = [m for m in self.state.messages if m.channel == channel and not m.thread_ts]
        return 200, {"ok": True, "messages": [self._render(m, meta) for m in reversed(top)]}

    def _api_conversations_replies(self, args: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        channel, error = self._channel(str(args.get("channel", "")))
        if channel is None:
            return 200, {"ok": False, "error": error}
        root = str(args.get("ts", ""))
        meta = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        thread = [
            m
            for m in self.state.messages
            if m.channel == channel and (m.ts == root or m.thread_ts == root)
        ]
        if not thread:
            return 200, {"ok": False, "error": "thread_not_found"}
        return 200, {"ok": True, "messages": [self._render(m, meta) for m in thread]}
