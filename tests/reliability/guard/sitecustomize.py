"""A socket guard for child processes: any connection outside loopback is refused and logged.

Put this folder first on ``PYTHONPATH`` and name a log file in ``RELITIGATE_GUARD_LOG``:
every Python process started with that environment (the command, and the Prefect server or
simulator it starts) imports this module at start-up. Connecting a socket to an address
outside loopback, or resolving a host name that is not local, is refused with an
``OSError`` and appended to the log as one JSON line (what, where, which process and the
innermost frames), so a test can fail on any attempt even when the program swallowed the
error. Unix sockets and loopback (127.0.0.0/8, ::1, ``localhost``) pass.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import traceback
from typing import Any

_LOG = os.environ.get("RELITIGATE_GUARD_LOG")
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def _is_local(host: object) -> bool:
    if host is None or host in ("", b""):
        return True  # a passive (bind) lookup
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if not isinstance(host, str):
        return False
    name = host.strip("[]").split("%", 1)[0].lower()
    if name in _LOCAL_NAMES:
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def _record(kind: str, target: Any) -> None:
    if not _LOG:
        return
    frames = traceback.format_stack(limit=12)[:-2]
    line = json.dumps(
        {"kind": kind, "target": repr(target), "pid": os.getpid(), "stack": frames[-6:]}
    )
    with open(_LOG, "a", encoding="utf-8") as log:
        log.write(line + "\n")


def _refuse(kind: str, target: Any) -> OSError:
    _record(kind, target)
    return PermissionError(f"socket guard: {kind} to {target!r} is outside loopback")


_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex
_getaddrinfo = socket.getaddrinfo


def _checked_address(sock: socket.socket, address: Any, kind: str) -> None:
    if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):
        raise _refuse(kind, address)


def _guarded_connect(self: socket.socket, address: Any) -> None:
    _checked_address(self, address, "connect")
    _connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    _checked_address(self, address, "connect_ex")
    return _connect_ex(self, address)


def _is_address(host: object) -> bool:
    text = host.decode(errors="replace") if isinstance(host, bytes) else host
    try:
        ipaddress.ip_address(str(text).strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return True


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    # an address needs no lookup (nothing is sent): the connect is checked instead
    if not _is_local(host) and not _is_address(host):
        raise _refuse("getaddrinfo", host)
    return _getaddrinfo(host, *args, **kwargs)


if _LOG:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign,assignment]
    socket.getaddrinfo = _guarded_getaddrinfo
