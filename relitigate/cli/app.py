"""The ``relitigate`` typer application.

Each command group lives in its own module with a ``register(app)`` function. Modules import
litellm, Prefect, pandas and the engines inside the command bodies only, so ``--help`` and the
registry commands stay fast.

The console entry point (:func:`main`) first offers the command to the fast path of the
read-only ``report`` and ``history`` forms (:mod:`relitigate.cli.lean_read`), which imports
neither click, typer, pydantic nor the ORM; what it declines runs here. It registers only
the module that defines the command asked for (see :data:`COMMAND_MODULES`), so
``relitigate routing`` neither imports nor builds the parameters of the deploy, flow or
notice commands. ``--help``, an unknown command, or a command missing from that map gets
every module. ``from relitigate.cli.app import app`` is the complete application (built on
first access); click and typer are imported when it is first built.

Failures end in one line and an exit code (see :mod:`relitigate.errors`); ``--debug`` (before
the command) or ``RELITIGATE_DEBUG=1`` adds the traceback. ``--version`` prints the version
without registering any command module; ``--install-completion`` and ``--show-completion``
are typer's shell completion (bash, zsh, fish, PowerShell).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

from relitigate.errors import (
    DEBUG_ENV,
    DEBUG_OPTION,
    EXIT_INTERRUPTED,
    debug_requested,
    quiet_prefect_console,
    report_failure,
)

if TYPE_CHECKING:
    import click
    import typer


def _import_typer() -> None:
    """Import click and typer as this module's globals (the options' annotations name
    ``typer``): on first need, so that the fast path of ``report`` and ``history``
    (:mod:`relitigate.cli.lean_read`) never loads them."""
    global click, typer
    import click
    import typer


COMMAND_MODULES: dict[str, str] = {
    "init": "registry_cmds",
    "sync": "registry_cmds",
    "workloads": "registry_cmds",
    "workload": "registry_cmds",
    "evalset": "registry_cmds",
    "run": "flow_cmds",
    "bench": "flow_cmds",
    "demo": "flow_cmds",
    "report": "report_cmds",
    "history": "report_cmds",
    "routing": "report_cmds",
    "deploy": "deploy_cmds",
    "serve": "deploy_cmds",
    "sim": "eval_cmds",
    "notices": "notice_cmds",
    "catalog": "catalog_cmds",
    "listen": "listen_cmds",
    "propose": "propose_cmds",
    "proposals": "propose_cmds",
}
"""Top-level command -> the module under ``relitigate.cli`` that registers it. Only a hint for
start-up time: a command this map gets wrong still works (every module is registered)."""

MODULES: tuple[str, ...] = (
    "registry_cmds",
    "flow_cmds",
    "report_cmds",
    "deploy_cmds",
    "eval_cmds",
    "notice_cmds",
    "catalog_cmds",
    "listen_cmds",
    "propose_cmds",
)
"""Every command module, in registration (and ``--help``) order."""

VERSION_OPTION = "--version"
BASE_COMMANDS = frozenset({"version"})
"""Commands of the base application, which needs no command module."""


def version() -> None:
    """Print relitigate's version."""
    from relitigate import __version__

    typer.echo(__version__)


def _version_option(value: bool) -> None:
    if value:
        version()
        raise typer.Exit()


def _global_options(
    debug: Annotated[
        bool,
        typer.Option(
            DEBUG_OPTION,
            help=f"Show tracebacks (failures otherwise end in one line); or set {DEBUG_ENV}=1.",
        ),
    ] = False,
    show_version: Annotated[
        bool,
        typer.Option(
            VERSION_OPTION,
            callback=_version_option,
            is_eager=True,
            help="Print relitigate's version and exit.",
        ),
    ] = False,
) -> None:
    """Options that come before the command (``main`` reads ``--debug`` itself, early)."""


EXIT_CODES_HELP = (
    "Exit codes: 0 done; 1 part of the work failed (a workload, a notice) or an unexpected "
    "error; 2 bad input or configuration (the line says what to fix); 130 interrupted."
)


def _new_app() -> typer.Typer:
    _import_typer()
    app = typer.Typer(
        name="relitigate",
        help="Re-litigate production fine-tunes against the frontier model you could buy instead.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=True,
        epilog=EXIT_CODES_HELP,
    )
    app.callback()(_global_options)
    app.command()(version)
    return app


def command_names(app: typer.Typer) -> set[str]:
    """Top-level command and group names of ``app`` (as typer derives them)."""
    _import_typer()
    from typer.main import get_command_name

    names = {
        info.name or get_command_name(info.callback.__name__)
        for info in app.registered_commands
        if info.callback is not None
    }
    names.update(info.name for info in app.registered_groups if info.name)
    return names


def build_app(command: str | None = None) -> typer.Typer:
    """The application: every command, or only ``version`` and the module defining ``command``.

    Falls back to every module when ``command`` is unknown to :data:`COMMAND_MODULES` or its
    module turns out not to define it. ``version`` needs no module.
    """
    app = _new_app()
    if command in BASE_COMMANDS:
        return app
    module = COMMAND_MODULES.get(command) if command else None
    if module is not None:
        importlib.import_module(f"relitigate.cli.{module}").register(app)
        if command in command_names(app):
            return app
        app = _new_app()
    for name in MODULES:
        importlib.import_module(f"relitigate.cli.{name}").register(app)
    return app


def _command_of(argv: Sequence[str]) -> str | None:
    """The command named first on the command line, after ``--debug`` (None: an option such
    as ``--help``; ``version`` for ``--version``)."""
    rest = list(argv)
    while rest and rest[0] == DEBUG_OPTION:
        rest.pop(0)
    if rest and rest[0] == VERSION_OPTION:
        return "version"
    return rest[0] if rest and not rest[0].startswith("-") else None


_full_app: typer.Typer | None = None


def __getattr__(name: str) -> typer.Typer:
    """``app``: the complete application, built once on first access."""
    global _full_app
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if _full_app is None:
        _full_app = build_app()
    return _full_app


def main() -> None:
    """Console entry point: every failure prints one line and exits non-zero (2: the user can
    fix it; 1: anything else), with its traceback only under ``--debug``."""
    argv = sys.argv[1:]
    from relitigate.prefect_env import apply_prefect_defaults

    apply_prefect_defaults()  # before any command imports Prefect or litellm: nothing phones home
    from relitigate.cli import lean_read

    served = lean_read.run(argv, os.environ)  # report and history, without typer or the ORM
    if served is not None:
        if served:
            raise SystemExit(served)
        return
    debug = debug_requested(argv, os.environ)
    if not debug:
        quiet_prefect_console(os.environ)
    app = build_app(_command_of(argv))
    _import_typer()
    try:
        rc = app(standalone_mode=False)
    except SystemExit:
        raise
    except click.ClickException as exc:
        exc.show()
        raise SystemExit(exc.exit_code) from None
    except (KeyboardInterrupt, click.Abort, typer.Abort):
        sys.stderr.write("relitigate: interrupted\n")
        raise SystemExit(EXIT_INTERRUPTED) from None
    except Exception as exc:
        raise SystemExit(report_failure(exc, debug=debug)) from None
    if isinstance(rc, int) and rc:
        raise SystemExit(rc)
