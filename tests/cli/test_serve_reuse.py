"""``relitigate run`` uses a running ``relitigate serve``'s API instead of starting Prefect's
temporary server: only when serve's marker names a live process whose 127.0.0.1 API answers,
never over a configured ``PREFECT_API_URL``, and not with ``RELITIGATE_REUSE_SERVE=0``."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from relitigate.prefect_server import (
    SERVE_MARKER,
    remove_serve_marker,
    running_serve_api,
    use_running_serve,
    write_serve_marker,
)


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/api/health" else 404)
        self.end_headers()
        self.wfile.write(b"true")

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def api_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api"
    finally:
        server.shutdown()


def test_a_live_serve_is_used_and_its_marker_removed_on_stop(tmp_path: Path, api_url: str) -> None:
    write_serve_marker(tmp_path, api_url)
    env: dict[str, str] = {}
    assert use_running_serve(tmp_path, env) == api_url and env["PREFECT_API_URL"] == api_url
    configured = {"PREFECT_API_URL": "http://127.0.0.1:1/api"}
    assert use_running_serve(tmp_path, configured) is None  # the user's setting wins
    assert configured["PREFECT_API_URL"] == "http://127.0.0.1:1/api"
    assert use_running_serve(tmp_path, {"RELITIGATE_REUSE_SERVE": "0"}) is None
    remove_serve_marker(tmp_path)
    assert not (tmp_path / SERVE_MARKER).exists() and running_serve_api(tmp_path) is None


def test_a_dead_or_silent_serve_is_not_used(tmp_path: Path, api_url: str) -> None:
    marker = tmp_path / SERVE_MARKER
    marker.write_text(json.dumps({"api_url": api_url, "pid": 2**22 + 12345}))  # no such pid
    assert running_serve_api(tmp_path) is None
    write_serve_marker(tmp_path, "http://127.0.0.1:9/api")  # alive (us), nothing answers
    assert running_serve_api(tmp_path) is None
    marker.write_text("not json")
    env: dict[str, str] = {}
    assert use_running_serve(tmp_path, env) is None and env == {}
