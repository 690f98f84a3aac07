import subprocess
import sys

import pytest


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
    assert cli.command_names(cli.build_app("version")) == {"version"}


# As the console script runs it: the program name (hence the completion variable) is relitigate.
AS_INSTALLED = "import sys; sys.argv[0] = 'relitigate'; from relitigate.cli.app import main; main()"


def _relitigate(*argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-c", AS_INSTALLED, *argv],
        capture_output=True, text=True, check=False, env={**os.environ, **env},
    )  # fmt: skip


@pytest.mark.parametrize("argv", [["--version"], ["--debug", "--version"], ["version"]])
def test_version_as_a_root_option_and_a_command_loads_no_command_module(argv: list[str]) -> None:
    from relitigate import __version__
    from relitigate.cli.app import _command_of, build_app, command_names

    out = _relitigate(*argv)
    assert (out.returncode, out.stdout, out.stderr) == (0, f"{__version__}\n", "")
    assert command_names(build_app(_command_of(argv))) == {"version"}


def test_shell_completion_completes_commands_and_choices() -> None:
    """The protocol the installed completion script speaks (bash here): the shell sets the
    completion variable and the words so far; relitigate answers with the candidates."""
    commands = _relitigate(
        _RELITIGATE_COMPLETE="complete_bash", COMP_WORDS="relitigate rep", COMP_CWORD="1"
    )
    assert (commands.returncode, commands.stdout.split()) == (0, ["report"])
    choices = _relitigate(
        _RELITIGATE_COMPLETE="complete_bash", COMP_WORDS="relitigate report --format ",
        COMP_CWORD="3",
    )  # fmt: skip
    assert choices.returncode == 0 and {"json", "csv", "html"} <= set(choices.stdout.split())
    script = _relitigate(
        "--show-completion", "zsh", _TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION="1"
    )
    assert script.returncode == 0 and "_RELITIGATE_COMPLETE=complete_zsh" in script.stdout
    help_text = _relitigate("--help").stdout
    assert all(o in help_text for o in ("--version", "--install-completion", "--show-completion"))


def _main_with_failing_command(monkeypatch: pytest.MonkeyPatch, exc: Exception, *argv: str) -> int:
    """Run the entry point on an application whose only command raises ``exc``."""
    import typer

    from relitigate.cli import app as cli
    from relitigate.errors import PREFECT_CONSOLE_ENV

    def build_app(command: str | None = None) -> typer.Typer:
        app = cli._new_app()

        @app.command()
        def boom() -> None:
            raise exc

        return app

    monkeypatch.setattr(cli, "build_app", build_app)
    monkeypatch.setattr(sys, "argv", ["relitigate", *argv, "boom"])
    monkeypatch.delenv("RELITIGATE_DEBUG", raising=False)
    monkeypatch.setenv(PREFECT_CONSOLE_ENV, "prefect.logging.handlers.PrefectConsoleHandler")
    with pytest.raises(SystemExit) as exited:
        cli.main()
    return int(exited.value.code or 0)


def test_an_unexpected_error_is_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _main_with_failing_command(monkeypatch, RuntimeError("disk on fire\nsecond line"))
    err = capsys.readouterr().err
    assert code == 1
    assert err.splitlines() == [
        "relitigate: error: unexpected RuntimeError: disk on fire "
        "(re-run with --debug for the traceback)"
    ]


def test_debug_prints_the_traceback_first(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _main_with_failing_command(monkeypatch, RuntimeError("disk on fire"), "--debug")
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("Traceback (most recent call last)")
    assert "in boom" in err and err.rstrip().endswith("(re-run with --debug for the traceback)")


def test_a_user_error_keeps_its_exit_code_and_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from registry.errors import DatabaseError

    code = _main_with_failing_command(monkeypatch, DatabaseError("registry gone: do X"))
    assert code == 2
    assert capsys.readouterr().err == "relitigate: error: registry gone: do X\n"


def test_printed_errors_are_scrubbed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import secrets

    from tasks.redaction import register_secret

    key = f"key-{secrets.token_hex(12)}"  # registered as a key would be where it is read
    register_secret(key)
    code = _main_with_failing_command(monkeypatch, ValueError(f"provider echoed {key}"))
    err = capsys.readouterr().err
    assert code == 1 and key not in err and "provider echoed" in err


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        (["--debug", "run"], {}, True),
        (["run", "--debug"], {}, False),  # after the command it is the command's option
        (["run"], {"RELITIGATE_DEBUG": "1"}, True),
        (["run"], {"RELITIGATE_DEBUG": "0"}, False),
        (["run"], {}, False),
    ],
)
def test_debug_is_asked_for_before_the_command_or_in_the_environment(
    argv: list[str], env: dict[str, str], expected: bool
) -> None:
    from relitigate.cli.app import _command_of
    from relitigate.errors import debug_requested

    assert debug_requested(argv, env) is expected
    assert _command_of(argv) == "run"
