"""The decision core is pure: no I/O libraries, no other project packages, lazy matplotlib."""

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "tasks" / "decision"
FORBIDDEN = ("prefect", "litellm", "sqlalchemy", "slack_sdk", "registry", "flows", "relitigate")


def test_no_forbidden_imports_in_source() -> None:
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                assert top not in FORBIDDEN, f"{path.name} imports {name}"
                if top == "tasks":
                    assert name.startswith("tasks.decision"), f"{path.name} imports {name}"


def test_importing_the_package_loads_no_heavy_or_foreign_modules() -> None:
    code = (
        "import sys, tasks.decision; "
        f"bad = [m for m in sys.modules if m.split('.')[0] in {(*FORBIDDEN, 'matplotlib')!r} "
        "or m.startswith(('tasks.evaluation', 'tasks.notify', 'tasks.gpu'))]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
