"""Support for the reliability tests that run relitigate as child processes.

- :class:`EchoProvider`: a loopback OpenAI-compatible endpoint that answers some models and,
  for models named ``echo-401``, ``echo-403`` and ``echo-500``, answers that status with a
  body that echoes the caller's key (its ``Authorization`` header, else ``x-api-key``), as
  some providers and proxies do ("Incorrect API key provided: Bearer ..."). Any POST path
  is a chat call (OpenAI's ``/chat/completions``, Anthropic's ``/v1/messages``).
- :func:`child_env`: the environment of a child command: none of the caller's relitigate,
  Prefect or litellm settings (so the child shows what relitigate sets by itself), its own
  registry, data folder and Prefect home, and the socket guard of this folder
  (``sitecustomize.py``) logging to a file.
- :func:`relitigate`: run ``python -m relitigate ARGS`` with that environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

GUARD_DIR = Path(__file__).resolve().parent
REPO_ROOT = GUARD_DIR.parents[2]
ECHO_STATUSES = {"echo-401": 401, "echo-403": 403, "echo-500": 500}


class EchoProvider:
    """The echoing endpoint on 127.0.0.1 (a thread; use as a context manager)."""

    def __init__(self) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()
        """(model, Authorization or x-api-key header) -> requests."""
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_GET(self) -> None:
                models = [{"id": m, "object": "model"} for m in ("echo-ok", *ECHO_STATUSES)]
                self._reply(200, {"object": "list", "data": models})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                model = str(body.get("model", ""))
                auth = self.headers.get("Authorization") or self.headers.get("x-api-key") or ""
                provider.calls[(model, auth)] += 1
                status = ECHO_STATUSES.get(model)
                if status is None:
                    self._reply(200, _completion(model))
                    return
                key = auth.removeprefix("Bearer ")
                message = (
                    f"Incorrect API key provided: {auth}. You can find your API key at "
                    f"https://platform.example/keys (key={key}, header {auth!r})"
                )
                self._reply(status, {"error": {"message": message, "type": "echo", "key": key}})

            def _reply(self, status: int, payload: Mapping[str, Any]) -> None:
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """E.g. ``http://127.0.0.1:41234/v1``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def requests_with(self, model: str, key: str) -> int:
        """Requests for ``model`` that carried ``key``."""
        return sum(n for (m, auth), n in self.calls.items() if m == model and key in auth)

    def __enter__(self) -> EchoProvider:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _completion(model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-echo",
        "object": "chat.completion",
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "q0"}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 7, "completion_tokens": 1, "total_tokens": 8},
    }


def child_env(root: Path, *, database_url: str, guard_log: Path, **extra: str) -> dict[str, str]:
    """The environment of a guarded child command rooted at ``root``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("RELITIGATE_", "PREFECT_", "LITELLM_"))
    }
    env.update(
        RELITIGATE_DATABASE_URL=database_url,
        RELITIGATE_DATA_DIR=str(root / "data"),
        PREFECT_HOME=str(root / "prefect-home"),
        PYTHONPATH=os.pathsep.join(p for p in (str(GUARD_DIR), env.get("PYTHONPATH")) if p),
        RELITIGATE_GUARD_LOG=str(guard_log),
        NO_PROXY="127.0.0.1,localhost",
    )
    env.update(extra)
    return env


def relitigate(
    *args: str, env: Mapping[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``python -m relitigate ARGS`` in the repository root, output captured."""
    return subprocess.run(
        [sys.executable, "-m", "relitigate", *args],
        cwd=REPO_ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def guard_attempts(guard_log: Path) -> list[dict[str, Any]]:
    """The connection attempts the guard refused (none when the log does not exist)."""
    if not guard_log.exists():
        return []
    lines = guard_log.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]
