"""Bad input through the real entry point: one line on stderr, exit code 2, nothing written."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from tests.report.seed import seed_registry


@pytest.fixture
def dialect() -> str:
    """These check the front door only: SQLite is enough."""
    return "sqlite"


@pytest.fixture
def registry_url(migrated_url: str, session_factory: Any) -> str:
    with session_factory.begin() as session:
        seed_registry(session)
    return migrated_url


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RELITIGATE_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "relitigate", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("history", "nope"), "no workload named 'nope'"),
        (("report", "--quarter", "2026Q5"), "bad quarter '2026Q5'"),
        (("report", "--format", "pdf"), "bad --format 'pdf'"),
        (("routing", "--format", "nginx"), "bad --format 'nginx'"),
        (("report", "--output", "/nonexistent-dir/r.html", "--format", "html"), "does not exist"),
        (("history", "bravo", "--plot", "/"), "it is a folder"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    registry_url: str, args: tuple[str, ...], message: str, dump_registry: Any
) -> None:
    before = dump_registry(registry_url)
    result = _cli(registry_url, *args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("relitigate: error: ")
    assert message in lines[0]
    assert dump_registry(registry_url) == before


def test_a_failed_write_is_one_line_and_exit_2(registry_url: str) -> None:
    """/dev/full accepts the open and fails the write, even for root."""
    result = _cli(registry_url, "routing", "--output", "/dev/full")
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        "relitigate: error: cannot write /dev/full: No space left on device; "
        "choose a writable path with --output"
    ]
