"""The locks the two quickstart commands install from stay consistent with each other.

``scripts/setup-env.sh runtime`` installs ``requirements.lock`` plus ``requirements-build.txt``
(the build backend of the project's own editable install, without build isolation), so every
build requirement must be pinned there, with the same pins and hashes as the dev lock.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==(\S+) \\$")


def _pins(path: Path) -> dict[str, tuple[str, frozenset[str]]]:
    """``name -> (version, hashes)`` of a pip-tools style lock."""
    pins: dict[str, tuple[str, frozenset[str]]] = {}
    name = version = None
    hashes: set[str] = set()
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        match = PIN.match(line)
        if match or not line.startswith(" "):
            if name is not None and version is not None:
                pins[name.lower().replace("_", "-")] = (version, frozenset(hashes))
            name = version = None
            hashes = set()
        if match:
            name, version = match.group(1), match.group(2)
        elif "--hash=" in line:
            hashes.add(line.split("--hash=", 1)[1].strip(" \\"))
    return pins


def test_build_requirements_are_pinned_for_the_runtime_install() -> None:
    build = _pins(ROOT / "requirements-build.txt")
    runtime = _pins(ROOT / "requirements.lock")
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]

    for requirement in requires:
        name = re.split(r"[<>=!~ \[]", requirement, maxsplit=1)[0].lower()
        assert name in build, f"{name} (build-system) is not pinned in requirements-build.txt"
    for name in ("packaging", "pathspec", "pluggy"):  # hatchling's own dependencies
        assert name in runtime or name in build, name


def test_build_pins_match_the_dev_lock() -> None:
    build = _pins(ROOT / "requirements-build.txt")
    dev = _pins(ROOT / "requirements-dev.lock")

    assert build, "requirements-build.txt pins nothing"
    for name, (version, hashes) in build.items():
        assert name in dev, name
        assert dev[name][0] == version, (name, version, dev[name][0])
        assert hashes and hashes <= dev[name][1], name
