"""A process group is stopped whole: children included, SIGKILL after the grace period."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from tasks.processes import group_alive, read_log_tail, start_group

# The leader starts a child in the same group, prints its pid, then both wait.
TREE = (
    "import signal, subprocess, sys, time\n"
    "if sys.argv[1] == 'deaf': signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
    "print('child', child.pid, flush=True)\n"
    "time.sleep(60)\n"
)


def _child_pid(log: Path) -> int:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines():
            if line.startswith("child "):
                return int(line.split()[1])
        time.sleep(0.05)
    raise AssertionError(f"the leader never started its child:\n{read_log_tail(log)}")


def _gone(pgid: int, child: int, within_s: float = 5.0) -> bool:
    """Whether the group and the child are gone (killed ones are reaped by init: polled)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            if not group_alive(pgid):
                return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize(("mode", "grace_s"), [("polite", 10.0), ("deaf", 0.3)])
def test_stop_ends_the_leader_and_its_children(tmp_path: Path, mode: str, grace_s: float) -> None:
    log = tmp_path / "tree.log"
    process = start_group([sys.executable, "-c", TREE, mode], log_path=log, env=os.environ)
    child = _child_pid(log)
    assert process.group_alive() and process.returncode is None
    started = time.monotonic()
    code = process.stop(grace_s)
    assert code is not None and code != 0
    assert _gone(process.pid, child)
    # A polite group ends at SIGTERM, well inside its grace; a deaf one is killed after it.
    assert time.monotonic() - started < (5.0 if mode == "polite" else grace_s + 5.0)
    assert process.stop(grace_s) == code  # safe to call again


def test_a_missing_executable_is_an_oserror_and_leaves_no_open_log(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        start_group([str(tmp_path / "nope")], log_path=tmp_path / "x.log", env=os.environ)
    assert (tmp_path / "x.log").exists()


def test_log_tail_keeps_the_last_lines(tmp_path: Path) -> None:
    log = tmp_path / "long.log"
    log.write_text("".join(f"line {i}\n" for i in range(100)))
    assert read_log_tail(log, lines=3) == "line 97\nline 98\nline 99"
    assert read_log_tail(tmp_path / "absent.log") == ""
