"""The Slack adapter: the only module that imports slack_sdk.

:class:`SlackClient` wraps ``slack_sdk.WebClient`` with retry handlers and turns every
failure into :class:`~tasks.notify.errors.SlackTransientError` (retry later) or
:class:`~tasks.notify.errors.SlackPermanentError` (a person must fix something).

Retries. Reads (``users.lookupByEmail``, ``conversations.open``, ``.list``, ``.history``
and ``.replies``) retry rate limits (honouring ``Retry-After``), connection errors and
500/503. The write, ``chat.postMessage``, retries only what cannot have posted anything: rate
limits (Slack answered 429 without posting) and refused connections. A 5xx or a connection
dropped after the request went out may have posted the message, so it surfaces as an error
with ``maybe_delivered=True``; the deliverer looks for the message in the channel's history
(each notice carries its id in message metadata) before it ever posts again.

Errors about the token itself (``invalid_auth``, ``token_revoked``, ``missing_scope`` on a call
delivery needs...) become :class:`~tasks.notify.errors.SlackCredentialError`: delivery stops
and every notice stays pending. ``missing_scope`` on the optional reads (channel lists,
history) stays a per-notice :class:`~tasks.notify.errors.SlackPermanentError`.

The token lives in the ``WebClient`` only, and is registered with :mod:`tasks.redaction`.
slack_sdk sends it in the Authorization header, never in a URL. A server (or a proxy) may
echo it in an error body: our errors carry only the method and Slack's error code, cut to
the shape of a code and scrubbed, and are raised without the slack_sdk exception (whose text
holds the whole body) as their cause; registering the token turns on the process-wide log
scrubbing, which covers slack_sdk's own debug log of response bodies.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime
from http.client import RemoteDisconnected
from typing import Any

from pydantic import SecretStr
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry import RetryHandler
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import (
    BackoffRetryIntervalCalculator,
    FixedValueRetryIntervalCalculator,
)
from slack_sdk.http_retry.interval_calculator import RetryIntervalCalculator
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from tasks.notify.errors import DEFAULT_TOKEN_SETTING, SlackCredentialError, SlackPermanentError
from tasks.notify.failures import classify_api_error, classify_transport_error, refused
from tasks.notify.ports import PostedMessage
from tasks.redaction import register_secret

logger = logging.getLogger(__name__)

NOTICE_EVENT_TYPE = "relitigate_notice"
"""Message metadata ``event_type`` on every notice; its payload holds the notice id."""

DEFAULT_BASE_URL = "https://slack.com/api/"
APP_TOKEN_SETTING = "RELITIGATE_SLACK_APP_TOKEN"

_METHODS = {
    "users.lookupByEmail": "users_lookupByEmail",
    "conversations.open": "conversations_open",
    "conversations.history": "conversations_history",
    "conversations.replies": "conversations_replies",
    "conversations.list": "conversations_list",
    "chat.postMessage": "chat_postMessage",
    "chat.postEphemeral": "chat_postEphemeral",
    "views.open": "views_open",
    "usergroups.users.list": "usergroups_users_list",
}


class _RefusedConnectionRetryHandler(RetryHandler):
    """Retries a write only when the connection was refused (nothing reached Slack)."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is None and refused(error)


class SlackClient:
    """A Slack Web API client for notices.

    Args:
        token: The bot token (``xoxb-...``).
        base_url: The Web API base URL; tests point it at a loopback server.
        max_retries: Retries per call for each retry handler.
        retry_interval: Fixed seconds between connection/5xx retries; None for exponential
            backoff with jitter (rate limits always wait ``Retry-After``).
        timeout: Seconds per HTTP request.
        token_setting: Where the token came from, named in credential errors (never the
            value): ``RELITIGATE_SLACK_TOKEN`` or the Secret block's name.
    """

    def __init__(
        self,
        token: SecretStr,
        *,
        base_url: str = DEFAULT_BASE_URL,
        max_retries: int = 2,
        retry_interval: float | None = None,
        timeout: int = 15,
        token_setting: str = DEFAULT_TOKEN_SETTING,
    ) -> None:
        register_secret(token)
        self._token_setting = token_setting
        interval: RetryIntervalCalculator = (
            BackoffRetryIntervalCalculator()
            if retry_interval is None
            else FixedValueRetryIntervalCalculator(retry_interval)
        )
        sdk_logger = logging.getLogger("tasks.notify.slack_sdk")

        def client(*handlers: RetryHandler) -> WebClient:
            rate_limits = RateLimitErrorRetryHandler(max_retry_count=max_retries)
            return WebClient(
                token=token.get_secret_value(), base_url=base_url, timeout=timeout,
                logger=sdk_logger, retry_handlers=[rate_limits, *handlers],
            )  # fmt: skip

        # Reads retry any connection or server error; a write only a refused connection
        # (nothing was sent), so a post is never sent twice.
        def again(handler: type[RetryHandler]) -> RetryHandler:
            return handler(max_retry_count=max_retries, interval_calculator=interval)

        self._reads = client(again(ConnectionErrorRetryHandler), again(ServerErrorRetryHandler))
        self._writes = client(again(_RefusedConnectionRetryHandler))
        self._channel_ids: dict[str, str] = {}

    def __repr__(self) -> str:
        return "SlackClient(token=**********)"

    def lookup_user_id(self, email: str) -> str:
        """The Slack user id for an email (``users.lookupByEmail``).

        Raises:
            SlackPermanentError: ``users_not_found`` and other permanent failures.
            SlackTransientError: Rate limited after retries, 5xx, connection.
        """
        data = self._call("users.lookupByEmail", write=False, email=email)
        return str(data["user"]["id"])

    def open_dm(self, user_id: str) -> str:
        """The direct-message channel id with ``user_id`` (``conversations.open``)."""
        data = self._call("conversations.open", write=False, users=user_id)
        return str(data["channel"]["id"])

    def channel_id(self, name: str) -> str | None:
        """The id of channel ``#name`` (``conversations.list``, cached per client), or None
        when the bot cannot list it (then the notice is posted to the name; threading and
        the duplicate check need the id).

        Raises:
            SlackTransientError: Rate limited after retries, 5xx, connection.
        """
        wanted = name.strip().lstrip("#")
        cursor: str | None = None
        for _ in range(50):
            if wanted in self._channel_ids:
                break
            try:
                data = self._call(
                    "conversations.list",
                    write=False,
                    types="public_channel,private_channel",
                    exclude_archived=True,
                    limit=1000,
                    cursor=cursor,
                )
            except SlackPermanentError as exc:  # missing_scope (channels:read) is optional
                logger.warning("cannot list channels to resolve #%s (%s)", wanted, exc.code)
                return None
            for channel in data.get("channels", []):
                self._channel_ids[str(channel["name"])] = str(channel["id"])
            cursor = (data.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
        return self._channel_ids.get(wanted)

    def post_message(
        self,
        channel: str,
        *,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
        notice_ref: str | None = None,
    ) -> PostedMessage:
        """Post a message (``chat.postMessage``).

        Args:
            channel: A channel id, ``#name`` or DM channel id.
            text: The plain-text fallback.
            blocks: Block Kit blocks.
            thread_ts: Reply in this thread.
            notice_ref: The notice id, stored in the message metadata so that
                :meth:`find_notice` can tell whether the notice already went out.

        Raises:
            SlackTransientError: Retry later; when ``maybe_delivered`` is True, call
                :meth:`find_notice` before posting again.
            SlackPermanentError: Retrying will not help.
        """
        args: dict[str, Any] = {"channel": channel, "text": text, "unfurl_links": False}
        if blocks:
            args["blocks"] = blocks
        if thread_ts:
            args["thread_ts"] = thread_ts
        if notice_ref:
            args["metadata"] = {
                "event_type": NOTICE_EVENT_TYPE,
                "event_payload": {"notice_id": notice_ref},
            }
        data = self._call("chat.postMessage", write=True, **args)
        return PostedMessage(channel_id=str(data["channel"]), ts=str(data["ts"]))

    def find_notice(
        self,
        channel: str,
        *,
        notice_ref: str,
        oldest: datetime | None = None,
        thread_ts: str | None = None,
    ) -> PostedMessage | None:
        """The message that carries ``notice_ref`` in its metadata, if Slack has one.

        Args:
            channel: The channel id the notice may have been posted to.
            notice_ref: The reference given to :meth:`post_message`.
            oldest: Only messages after this time (less a minute of clock skew).
            thread_ts: Look among this thread's replies (``conversations.replies``) instead
                of the channel's top-level messages (``conversations.history``).
        """
        cursor: str | None = None
        oldest_ts = f"{oldest.timestamp() - 60:.6f}" if oldest else None
        method = "conversations.replies" if thread_ts else "conversations.history"
        for _ in range(20):
            data = self._call(
                method,
                write=False,
                channel=channel,
                ts=thread_ts,
                oldest=oldest_ts,
                include_all_metadata=True,
                limit=200,
                cursor=cursor,
            )
            for message in data.get("messages", []):
                metadata = message.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if (
                    metadata.get("event_type") == NOTICE_EVENT_TYPE
                    and str(payload.get("notice_id")) == notice_ref
                ):
                    return PostedMessage(channel_id=channel, ts=str(message["ts"]))
            cursor = (data.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return None
        return None

    def post_ephemeral(self, channel: str, *, user: str, text: str) -> None:
        """Show ``text`` to ``user`` only, in ``channel`` (``chat.postEphemeral``)."""
        self._call("chat.postEphemeral", write=True, channel=channel, user=user, text=text)

    def open_view(self, trigger_id: str, view: dict[str, Any]) -> None:
        """Open a modal for the user whose click gave ``trigger_id`` (``views.open``)."""
        self._call("views.open", write=True, trigger_id=trigger_id, view=view)

    def usergroup_members(self, group_id: str) -> frozenset[str]:
        """The user ids in Slack user group ``group_id`` (``usergroups.users.list``)."""
        data = self._call("usergroups.users.list", write=False, usergroup=group_id)
        return frozenset(str(u) for u in data.get("users") or [])

    def _call(self, method: str, *, write: bool, **args: Any) -> dict[str, Any]:
        client = self._writes if write else self._reads
        args = {k: v for k, v in args.items() if v is not None}
        call = getattr(client, _METHODS[method])
        # ``from None``: slack_sdk's exception text holds the response body, which a server
        # or a proxy may have filled with the token; ours holds the code only.
        try:
            response = call(**args)
        except SlackApiError as exc:
            body = exc.response.data
            error = classify_api_error(
                method,
                status=int(getattr(exc.response, "status_code", 0) or 0),
                data=body if isinstance(body, dict) else {},
                write=write,
                token_setting=self._token_setting,
            )
        except (SlackRequestError, OSError, RemoteDisconnected) as exc:
            error = classify_transport_error(method, exc, write=write)
        else:
            data = response.data
            return data if isinstance(data, dict) else {}
        raise error from None


def signature_valid(
    signing_secret: SecretStr,
    *,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    now: float | None = None,
) -> bool:
    """Whether a request really comes from Slack (slack_sdk's ``SignatureVerifier``: the
    five-minute timestamp window, then a constant-time compare of the HMAC)."""
    from slack_sdk.signature import Clock, SignatureVerifier

    class _At(Clock):
        def now(self) -> float:
            return super().now() if now is None else now

    if not timestamp or not signature or not timestamp.strip().isdigit():
        return False
    verifier = SignatureVerifier(signing_secret.get_secret_value(), clock=_At())
    return verifier.is_valid(body=body, timestamp=timestamp, signature=signature)


class SocketModeListener:
    """Receives interactive payloads over Socket Mode (slack_sdk's builtin client, stdlib
    only), acknowledges each envelope at once, then hands its payload on.

    Args:
        app_token: The app-level token (``xapp-...``), registered for redaction.
        on_interaction: Called with each ``interactive`` payload (after the ack).
        base_url: The Web API base URL (``apps.connections.open`` is called there).
    """

    def __init__(
        self,
        app_token: SecretStr,
        *,
        on_interaction: Callable[[dict[str, Any]], object],
        base_url: str = DEFAULT_BASE_URL,
    ) -> None:
        from slack_sdk.socket_mode.builtin import SocketModeClient

        register_secret(app_token)
        self._on_interaction = on_interaction
        self._client = SocketModeClient(
            app_token=app_token.get_secret_value(),
            web_client=WebClient(base_url=base_url, logger=logging.getLogger(f"{__name__}.sdk")),
            logger=logging.getLogger(f"{__name__}.socket_mode"),
            auto_reconnect_enabled=True,
        )
        self._client.socket_mode_request_listeners.append(self._received)

    def __repr__(self) -> str:
        return "SocketModeListener(app_token=**********)"

    def connect(self) -> None:
        """Open the connection (``apps.connections.open``, then the WebSocket).

        Raises:
            SlackCredentialError: Slack refused the app token.
            SlackTransientError: Slack could not be reached.
        """
        try:
            self._client.connect()
        except SlackApiError as exc:
            data = exc.response.data if isinstance(exc.response.data, dict) else {}
            code = re.sub(r"[^a-z0-9_]", "", str(data.get("error", "")))[:60] or "error"
            raise SlackCredentialError(
                "apps.connections.open", code, token_setting=APP_TOKEN_SETTING
            ) from None
        except (SlackRequestError, OSError) as exc:
            raise classify_transport_error("apps.connections.open", exc, write=False) from None

    def close(self, timeout: float = 10.0) -> None:
        """Close the connection and stop the client's threads, waiting at most ``timeout``
        seconds (the client's threads are daemons: a close that hangs never blocks an exit)."""
        import threading

        closing = threading.Thread(target=self._client.close, name="socket-mode-close", daemon=True)
        closing.start()
        closing.join(timeout)
        if closing.is_alive():
            logger.warning("the Socket Mode client did not close within %.0f s", timeout)

    def _received(self, client: Any, request: Any) -> None:
        from slack_sdk.socket_mode.response import SocketModeResponse

        client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))
        if request.type == "interactive" and isinstance(request.payload, dict):
            self._on_interaction(request.payload)
