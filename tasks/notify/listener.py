"""Where notice clicks arrive: Slack's signed HTTP interactivity requests.

:class:`InteractionEndpoint` serves the Slack app's interactivity request URL
(``POST /slack/interactions``) with the standard library's threading HTTP server. Every
request's signature is checked with slack_sdk's ``SignatureVerifier`` (through
:func:`tasks.notify.slack.signature_valid`: a five-minute timestamp window, a constant-time
compare) before its body is parsed; a request with a missing or bad signature gets 401 and is
logged with its path, peer and reason only, never its body. A signed request is answered 200
as soon as its payload is handled (re-runs go on in the background), within Slack's three
seconds.

Socket Mode, which needs no public URL, is :class:`tasks.notify.slack.SocketModeListener`;
both hand each payload to the same handler.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from pydantic import SecretStr

from tasks.notify.slack import signature_valid

logger = logging.getLogger(__name__)

INTERACTIONS_PATH = "/slack/interactions"
MAX_BODY = 1 << 20
"""Bytes an interaction request may carry (Slack's are a few kilobytes)."""


def interaction_payload(body: bytes) -> dict[str, Any] | None:
    """The JSON ``payload`` field of a form-encoded interactivity request, or None."""
    try:
        form = parse_qs(body.decode("utf-8"), strict_parsing=False)
        payload = json.loads(form["payload"][-1])
    except (UnicodeDecodeError, KeyError, IndexError, ValueError):
        return None
    return payload if isinstance(payload, dict) else None


class InteractionEndpoint:
    """The signed HTTP endpoint; use as a context manager or :meth:`start` / :meth:`stop`.

    Args:
        signing_secret: The Slack app's signing secret.
        on_interaction: Called with each verified payload.
        host: The address to listen on (a reverse proxy with TLS in front for Slack).
        port: The port (0: any free one).
        clock: Seconds since the epoch (tests move it to check the timestamp window).
    """

    def __init__(
        self,
        signing_secret: SecretStr,
        *,
        on_interaction: Callable[[dict[str, Any]], object],
        host: str = "127.0.0.1",
        port: int = 3000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret, self._on_interaction, self._clock = signing_secret, on_interaction, clock
        self._address = (host, port)
        self._httpd: ThreadingHTTPServer | None = None

    def __repr__(self) -> str:
        return f"InteractionEndpoint({self.url})"

    @property
    def url(self) -> str:
        """The request URL to give Slack (behind your proxy): ``http://host:port/slack/...``."""
        host, port = self._httpd.server_address[:2] if self._httpd else self._address
        return f"http://{host!s}:{port}{INTERACTIONS_PATH}"

    def start(self) -> InteractionEndpoint:
        """Listen in a daemon thread."""
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return  # requests are logged by the endpoint, without bodies

            def do_POST(self) -> None:
                status = endpoint._answer(self.path, self.headers, self.rfile, self.client_address)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._httpd = ThreadingHTTPServer(self._address, Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        logger.info("listening for Slack interactions on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop listening."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    def __enter__(self) -> InteractionEndpoint:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _answer(self, path: str, headers: Any, rfile: Any, peer: Any) -> int:
        if path.split("?", 1)[0] != INTERACTIONS_PATH:
            return 404
        length = int(headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            logger.warning("refused a %d-byte request from %s: too large", length, peer[0])
            return 413
        body = rfile.read(length) if length else b""
        timestamp = headers.get("X-Slack-Request-Timestamp")
        signature = headers.get("X-Slack-Signature")
        if not signature_valid(
            self._secret, body=body, timestamp=timestamp, signature=signature, now=self._clock()
        ):
            reason = "no signature" if not signature or not timestamp else "bad signature"
            logger.warning("refused a request to %s from %s: %s", path, peer[0], reason)
            return 401
        payload = interaction_payload(body)
        if payload is None:
            logger.warning("a signed request from %s held no interaction payload", peer[0])
            return 400
        try:
            self._on_interaction(payload)
        except Exception:  # the listener keeps serving; the one line says what failed
            logger.exception("handling a %s interaction failed", payload.get("type"))
            return 500
        return 200
