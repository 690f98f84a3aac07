"""The README's "Using it" section can be followed as written.

Its commands are read from README.md (not copied here), then run in order, each as its own
``relitigate`` process, in a folder holding only the files git tracks under ``examples/`` (what
a fresh clone has), with a fresh data directory and Prefect home. A command ending in ``&``
runs in the background, as a shell would run it (the simulator), until the end. Each command
must exit 0.

Only ``serve`` and ``deploy`` are not run: they need a Prefect server (``serve`` starts one and
runs until stopped). The test checks that these are exactly the commands of the block the
README introduces as needing a Prefect server, and that every other command it lists is run.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.reliability.test_unreachable import CONSOLE_SCRIPT, ROOT, cli_env

README = ROOT / "README.md"
SIMULATOR_PORT = 8765
"""Where examples/relitigate.yaml expects the simulator."""


@dataclass(frozen=True)
class Block:
    """One indented code block of the section, and the paragraph just before it."""

    intro: str
    commands: list[str]


def using_it(text: str) -> list[Block]:
    """The code blocks of the "Using it" section: commands with continuation lines joined
    and comments removed."""
    section = text.split("\n## Using it\n", 1)[1].split("\n## ", 1)[0]
    blocks: list[Block] = []
    paragraph: list[str] = []
    commands: list[str] | None = None
    pending = ""
    for line in section.splitlines():
        if line.startswith("    "):
            if commands is None:
                commands = []
                blocks.append(Block(" ".join(paragraph), commands))
            code = line.strip()
            if code.endswith("\\"):
                pending += code[:-1] + " "
                continue
            command = re.sub(r"\s+#.*$", "", pending + code).strip()
            pending = ""
            if command:
                commands.append(command)
        elif line.strip():
            if commands is not None:
                commands, paragraph = None, []
            paragraph.append(line.strip())
    return blocks


def test_the_section_parses_into_the_commands_it_shows() -> None:
    blocks = using_it(README.read_text(encoding="utf-8"))
    assert len(blocks) == 2
    runnable, server = blocks
    assert all(c.startswith("relitigate ") for c in runnable.commands + server.commands)
    assert runnable.commands[0].startswith("relitigate sim serve --profile examples/simulator.yaml")
    assert runnable.commands[0].endswith("&") and "--evalset" in runnable.commands[0]
    assert [c.split()[1] for c in server.commands] == ["serve", "deploy"]
    assert "need a Prefect server" in server.intro


def tracked_examples(destination: Path) -> None:
    """Copy the files git tracks under ``examples/`` (a fresh clone's copy) to ``destination``.
    Outside a git checkout (an unpacked source archive), the folder as it is."""
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--", "examples"],
        capture_output=True,
        text=True,
        check=False,
    )
    if listed.returncode != 0:
        shutil.copytree(ROOT / "examples", destination / "examples")
        return
    for name in filter(None, listed.stdout.split("\0")):
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / name, target)


def wait_for_port(port: int, proc: subprocess.Popen[str], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read() if proc.stderr is not None else ""
            raise AssertionError(f"background command exited {proc.returncode}: {err}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {timeout_s} s")


@pytest.fixture
def background() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_using_it_commands_succeed_in_order(
    tmp_path: Path, background: list[subprocess.Popen[str]]
) -> None:
    runnable = using_it(README.read_text(encoding="utf-8"))[0].commands
    clone = tmp_path / "clone"
    tracked_examples(clone)
    env = cli_env(tmp_path, "")
    del env["RELITIGATE_DATABASE_URL"]  # the embedded default, in RELITIGATE_DATA_DIR
    env["PATH"] = f"{CONSOLE_SCRIPT.parent}{os.pathsep}{env.get('PATH', '')}"
    with socket.socket() as probe:
        free = probe.connect_ex(("127.0.0.1", SIMULATOR_PORT)) != 0
    assert free, f"127.0.0.1:{SIMULATOR_PORT} is taken; the example's simulator needs it"

    for command in runnable:
        argv = shlex.split(command.removesuffix("&"))
        if command.endswith("&"):
            proc = subprocess.Popen(
                argv, cwd=clone, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                text=True,
            )  # fmt: skip
            background.append(proc)
            wait_for_port(SIMULATOR_PORT, proc)
            continue
        done = subprocess.run(argv, cwd=clone, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        if argv[1] == "run":
            assert "ticket-triage" in done.stdout and "contract-clauses" in done.stdout
    assert (clone / "h.png").stat().st_size > 0  # history --plot wrote its chart
