"""The layer contracts, checked on every import of the product code.

Layers, each importing only those below it (docs/CONTRACTS.md):

    front door   relitigate/          CLI, settings, provider simulator
    flows        flows/               orchestration only
    tasks        tasks/*.py           thin Prefect tasks
    engines      tasks/notify, tasks/gpu, tasks/report, and the evaluation engine below
    ground       tasks/evaluation (the evaluation engine), tasks/decision (pure), registry/
    leaves       vocabulary/, tasks/redaction.py, tasks/processes.py: importable by all

Every ``import`` counts, at module level or inside a function (a lazy import is still a
dependency), and so does ``importlib.import_module("...")`` with a literal name. A test
failure names each offending file, line and import. A second check imports the engines, the
decision core and the registry in a fresh interpreter and looks at what got loaded, and
whether the import changed the environment.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("relitigate", "flows", "tasks", "registry", "vocabulary")
ENGINES = ("tasks.evaluation", "tasks.notify", "tasks.gpu", "tasks.report")
LEAVES = ("vocabulary", "tasks.redaction", "tasks.processes")
IO_AND_SERVICES = (
    "prefect", "litellm", "openai", "sqlalchemy", "alembic", "psycopg", "sqlite3", "slack_sdk",
    "httpx", "aiohttp", "requests", "urllib", "http", "socket", "subprocess", "shutil", "os",
    "pathlib", "tempfile", "logging", "asyncio", "threading", "rich", "typer", "yaml",
)  # fmt: skip
"""What the decision core never imports: I/O, services, clocks of other threads, consoles."""


@dataclass(frozen=True)
class Import:
    """One import statement (or literal ``import_module`` call) in a product module."""

    module: str
    """The importing module, dotted."""
    where: str
    """``path:line``."""
    target: str
    """The imported module, dotted and absolute."""

    def __str__(self) -> str:
        return f"{self.where}: {self.module} imports {self.target}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_project_module(name: str) -> bool:
    base = ROOT.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _absolute(module: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".")
    if path.name != "__init__.py":
        package.pop()
    base = package[: len(package) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def _targets(module: str, path: Path, node: ast.AST) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        source = _absolute(module, path, node)
        for alias in node.names:  # ``from tasks import credentials`` imports tasks.credentials
            candidate = f"{source}.{alias.name}"
            yield candidate if _is_project_module(candidate) else source
    elif (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute | ast.Name)
        and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id)
        in ("import_module", "__import__")
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        yield node.args[0].value


def _scan() -> list[Import]:
    found: list[Import] = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            module = _module_name(path)
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                for target in _targets(module, path, node):
                    where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
                    found.append(Import(module, where, target))
    return found


IMPORTS = _scan()


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _from(prefixes: tuple[str, ...], *, but: tuple[str, ...] = ()) -> list[Import]:
    return [i for i in IMPORTS if _within(i.module, prefixes) and not _within(i.module, but)]


def _stdlib(name: str) -> bool:
    return name.split(".")[0] in sys.stdlib_module_names


def _violations(imports: list[Import], forbidden: tuple[str, ...]) -> list[str]:
    return [str(i) for i in imports if _within(i.target, forbidden)]


def _task_layer_modules() -> tuple[str, ...]:
    """``tasks.x`` modules and packages that are neither an engine, the core nor a leaf."""
    names = {_module_name(p) for p in (ROOT / "tasks").glob("*.py")}
    names |= {
        f"tasks.{p.name}" for p in (ROOT / "tasks").iterdir() if (p / "__init__.py").is_file()
    }
    kept = {"tasks", *ENGINES, "tasks.decision", *LEAVES}
    return tuple(sorted(names - kept))


SETTINGS = ("tasks.settings", "relitigate.settings")
ALEMBIC_ENTRY_POINT = "registry.migrations.env"
"""Run by the ``alembic`` command (an entry point like the CLI), never imported by the
package: without a URL handed in by ``registry.db`` it reads the settings, as the CLI does."""


def _registry() -> list[str]:
    banned = ("flows", "tasks", "relitigate", "prefect", "litellm", "slack_sdk", "rich", "typer")
    imports = [
        i
        for i in _from(("registry",))
        if not (i.module == ALEMBIC_ENTRY_POINT and _within(i.target, SETTINGS))
    ]
    return _violations(imports, banned)


def _vocabulary() -> list[str]:
    banned = ("relitigate", "flows", "tasks", "registry", *IO_AND_SERVICES)
    return _violations(_from(("vocabulary",)), banned)


def _leaf_modules() -> list[str]:
    leaves = tuple(leaf for leaf in LEAVES if leaf != "vocabulary")
    banned = ("relitigate", "flows", "tasks", "registry", "vocabulary", "prefect")
    return _violations(_from(leaves), banned)


def _decision_core() -> list[str]:
    imports = _from(("tasks.decision",))
    bad = _violations(imports, ("relitigate", "flows", "registry", *IO_AND_SERVICES))
    bad += [
        str(i)
        for i in imports
        if _within(i.target, ("tasks",)) and not _within(i.target, ("tasks.decision",))
    ]
    return bad


def _decision_core_calls() -> list[str]:
    """No file, console or input I/O through builtins in the decision core."""
    bad = []
    for path in sorted((ROOT / "tasks" / "decision").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("open", "print", "input", "exec", "eval")
            ):
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno}: calls {node.func.id}()")
    return bad


def _engines() -> list[str]:
    banned = ("prefect", "relitigate", "flows", "rich", "typer", *_task_layer_modules())
    return _violations(_from(ENGINES), banned)


def _ground_apart() -> list[str]:
    """The evaluation engine, the decision core and the registry import none of each other."""
    bad = _violations(_from(("tasks.evaluation",)), ("registry", "tasks.decision"))
    bad += _violations(_from(("tasks.decision",)), ("registry", "tasks.evaluation"))
    bad += _violations(_from(("registry",)), ("tasks.evaluation", "tasks.decision"))
    return bad


def _flows() -> list[str]:
    allowed = ("flows", "tasks", "prefect", "pydantic")
    return [
        str(i) for i in _from(("flows",)) if not (_stdlib(i.target) or _within(i.target, allowed))
    ]


def _task_layer() -> list[str]:
    return _violations(_from(("tasks",)), ("flows", "relitigate", "rich", "typer"))


def _adapters() -> list[str]:
    """One module imports litellm, one imports slack_sdk."""
    owners = {"litellm": "tasks.evaluation.litellm_api", "slack_sdk": "tasks.notify.slack"}
    return [
        str(i)
        for i in IMPORTS
        for library, owner in owners.items()
        if _within(i.target, (library,)) and i.module != owner
    ]


CONTRACTS = {
    "registry imports no flows, tasks, front door, Prefect, litellm, Slack or console": _registry,
    "vocabulary imports no other project package and no I/O": _vocabulary,
    "leaf modules (redaction, processes) import no project package and no Prefect": _leaf_modules,
    "decision core imports only itself, the vocabulary and no I/O": _decision_core,
    "decision core calls no open/print/input/exec/eval": _decision_core_calls,
    "engines import no Prefect, front door, flows, task layer, rich or typer": _engines,
    "ground parts (evaluation engine, decision core, registry) import none of each other": (
        _ground_apart
    ),
    "flows import only tasks, Prefect, pydantic and the standard library": _flows,
    "the task layer imports no flows, front door, rich or typer": _task_layer,
    "litellm is imported only by its adapter, slack_sdk only by the Slack client": _adapters,
}


@pytest.mark.parametrize("contract", list(CONTRACTS))
def test_layer_contract(contract: str) -> None:
    violations = CONTRACTS[contract]()
    assert not violations, f"{contract}:\n" + "\n".join(violations)


PLANTED = {
    _registry: Import("registry.queries", "registry/queries.py:1", "tasks.settings"),
    _vocabulary: Import("vocabulary.kinds", "vocabulary/kinds.py:1", "registry.models"),
    _leaf_modules: Import("tasks.redaction", "tasks/redaction.py:1", "tasks.settings"),
    _decision_core: Import("tasks.decision.gates", "tasks/decision/gates.py:1", "os"),
    _engines: Import("tasks.notify.token", "tasks/notify/token.py:1", "prefect.blocks.system"),
    _ground_apart: Import("tasks.evaluation.runner", "tasks/evaluation/runner.py:1", "registry"),
    _flows: Import("flows.quarter", "flows/quarter.py:1", "registry.queries"),
    _task_layer: Import("tasks.context", "tasks/context.py:1", "relitigate.settings"),
    _adapters: Import("tasks.evaluation.provider", "tasks/evaluation/provider.py:1", "litellm"),
}


@pytest.mark.parametrize("check", list(PLANTED), ids=lambda check: check.__name__)
def test_each_contract_catches_a_planted_violation(
    check: Callable[[], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    planted = PLANTED[check]
    monkeypatch.setattr(sys.modules[__name__], "IMPORTS", [planted])
    assert check() == [str(planted)]


def test_the_scan_sees_lazy_relative_and_dynamic_imports(tmp_path: Path) -> None:
    """The scanner itself: an import inside a function, a relative one and a literal
    ``import_module`` are each found, with absolute names (else every contract is vacuous)."""
    assert any(
        i.module == "tasks.evaluation.litellm_api" and i.target == "litellm" for i in IMPORTS
    )
    lazy = [
        i for i in IMPORTS if i.module == "tasks.credentials" and i.target.startswith("prefect")
    ]
    assert lazy, "the Secret block readers import prefect inside functions"
    source = tmp_path / "mod.py"
    source.write_text(
        "def f():\n    from .sibling import x\n    import importlib\n"
        "    importlib.import_module('prefect.blocks')\n"
    )
    tree = ast.parse(source.read_text())
    path = ROOT / "tasks" / "evaluation" / "mod.py"
    found = [t for node in ast.walk(tree) for t in _targets("tasks.evaluation.mod", path, node)]
    assert found == ["tasks.evaluation.sibling", "importlib", "prefect.blocks"]


IMPORT_EVERYTHING = """
import importlib, json, os, pkgutil, sys
before = dict(os.environ)
names = []
for package in ("tasks.evaluation", "tasks.notify", "tasks.gpu", "tasks.report",
                "tasks.decision", "registry", "tasks.redaction", "tasks.processes"):
    module = importlib.import_module(package)
    names.append(package)
    for info in pkgutil.walk_packages(getattr(module, "__path__", []), package + "."):
        if ".migrations" not in info.name:
            importlib.import_module(info.name)
            names.append(info.name)
changed = sorted(k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k))
print(json.dumps({"imported": names, "loaded": sorted(sys.modules), "env_changed": changed}))
"""


def test_importing_the_lower_layers_loads_no_upper_layer_and_leaves_the_environment_alone() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LITELLM_", "PREFECT_"))}
    run = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERYTHING],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.splitlines()[-1])
    assert "tasks.evaluation.runner" in report["imported"] and "registry.db" in report["imported"]
    # Not rich: httpx loads it for its own command line when it is installed.
    upper = ("prefect", "litellm", "relitigate", "flows", "typer", "torch", "matplotlib")
    loaded = [m for m in report["loaded"] if _within(m, upper)]
    assert not loaded, (
        f"imported at module import time: {sorted({m.split('.')[0] for m in loaded})}"
    )
    assert report["env_changed"] == [], "a module changed os.environ when imported"
