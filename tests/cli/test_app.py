import subprocess
import sys


def test_help_lists_commands_and_exits_zero() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "relitigate", "--help"], capture_output=True, text=True, check=True
    )
    assert "version" in out.stdout


def test_help_does_not_import_litellm_or_prefect() -> None:
    code = (
        "import sys; from relitigate.cli.app import app; "
        "bad = [m for m in ('litellm', 'prefect') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_command_map_matches_the_modules() -> None:
    """Each top-level command is mapped to the module that registers it (start-up hint)."""
    import importlib

    import typer

    from relitigate.cli import app as cli

    seen: dict[str, str] = {}
    for module in cli.MODULES:
        part = typer.Typer()
        importlib.import_module(f"relitigate.cli.{module}").register(part)
        seen.update(dict.fromkeys(cli.command_names(part), module))
    assert seen == cli.COMMAND_MODULES
    assert cli.command_names(cli.app) == {*seen, "version"}
    assert cli.command_names(cli.build_app("report")) == {
        "version", "report", "history", "routing",
    }  # fmt: skip
    assert cli.command_names(cli.build_app("no-such-command")) == {*seen, "version"}
