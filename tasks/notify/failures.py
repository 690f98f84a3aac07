"""Sort a failed Slack call: transient (retry later), permanent (this notice's destination)
or credential (the token: stop the delivery). Standard library only; the adapter in
:mod:`tasks.notify.slack` hands over the HTTP status and the decoded body.

Only Slack's error code is kept, cut to the shape of a code and scrubbed: a server or a proxy
may have written the token into the body, so nothing else from it reaches an error message.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Mapping
from http.client import RemoteDisconnected
from urllib.error import URLError

from tasks.notify.errors import (
    CREDENTIAL_CODES,
    DEFAULT_TOKEN_SETTING,
    REQUIRED_SCOPES,
    SlackCredentialError,
    SlackError,
    SlackPermanentError,
    SlackTransientError,
)
from tasks.redaction import scrub

TRANSIENT_CODES = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)

_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")
"""What a Slack error code looks like; anything after it in the ``error`` field is dropped."""


def error_code(value: object, *, status: int) -> str:
    """Slack's error code from an ``error`` field, cut to the shape of a code and scrubbed.

    ``"invalid_auth"`` stays; ``"invalid_auth: Bearer xoxb-..."`` becomes ``invalid_auth``;
    a field with no code in it becomes ``http_<status>`` (or ``unknown_error``).
    """
    match = _CODE.match(str(value or "").strip())
    if match is None:
        return f"http_{status}" if status else "unknown_error"
    return scrub(match.group(0))


def classify_api_error(
    method: str,
    *,
    status: int,
    data: Mapping[str, object],
    write: bool,
    token_setting: str = DEFAULT_TOKEN_SETTING,
) -> SlackError:
    """The error for a Slack answer that was not ok.

    Args:
        method: The Web API method.
        status: The HTTP status (0 if unknown).
        data: The decoded JSON body (empty if it was not JSON).
        write: The call was ``chat.postMessage``: a 5xx may have posted it.
        token_setting: Where the token came from, for credential errors.
    """
    code = error_code(data.get("error"), status=status)
    if status == 429 or code == "ratelimited":
        return SlackTransientError(method, "ratelimited")
    if status >= 500 or code in TRANSIENT_CODES:
        return SlackTransientError(method, code, maybe_delivered=write)
    if status == 401 and code.startswith("http_"):
        code = "invalid_auth"  # a proxy in front of Slack refused the credentials
    if code in CREDENTIAL_CODES and (code != "missing_scope" or method in REQUIRED_SCOPES):
        return SlackCredentialError(method, code, token_setting=token_setting)
    return SlackPermanentError(method, code)


def refused(error: BaseException | None) -> bool:
    """True when the connection was refused: the request never left this machine."""
    if isinstance(error, URLError):
        error = error.reason if isinstance(error.reason, BaseException) else None
    return isinstance(error, ConnectionRefusedError)


def classify_transport_error(method: str, exc: BaseException, *, write: bool) -> SlackError:
    """A connection that failed: refused (nothing sent) or dropped (maybe delivered)."""
    if refused(exc):
        return SlackTransientError(method, "connection_refused")
    reason = exc.reason if isinstance(exc, URLError) else exc
    if isinstance(reason, socket.timeout | TimeoutError):
        code = "timeout"
    elif isinstance(reason, RemoteDisconnected | ConnectionResetError):
        code = "connection_dropped"
    else:
        code = f"connection_error:{type(reason).__name__}"
    return SlackTransientError(method, code, maybe_delivered=write)
