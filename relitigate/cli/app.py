"""The ``relitigate`` typer application.

Each command group lives in its own module with a ``register(app)`` function. Modules import
litellm, Prefect, pandas and the engines inside the command bodies only, so ``--help`` and the
registry commands stay fast.
"""

from __future__ import annotations

import sys

import click
import typer

from relitigate.cli import (
    deploy_cmds,
    eval_cmds,
    flow_cmds,
    notice_cmds,
    registry_cmds,
    report_cmds,
)
from relitigate.errors import user_error_exit_code

app = typer.Typer(
    name="relitigate",
    help="Re-litigate production fine-tunes against the frontier model you could buy instead.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.command()
def version() -> None:
    """Print relitigate's version."""
    from relitigate import __version__

    typer.echo(__version__)


for module in (registry_cmds, flow_cmds, report_cmds, deploy_cmds, eval_cmds, notice_cmds):
    module.register(app)


def main() -> None:
    """Console entry point: user errors print one line and exit with code 2."""
    try:
        rc = app(standalone_mode=False)
    except SystemExit:
        raise
    except click.ClickException as exc:
        exc.show()
        raise SystemExit(exc.exit_code) from None
    except (KeyboardInterrupt, click.Abort):
        sys.stderr.write("relitigate: interrupted\n")
        raise SystemExit(130) from None
    except Exception as exc:
        code = user_error_exit_code(exc)
        if code is None:
            raise
        sys.stderr.write(f"relitigate: error: {exc}\n")
        raise SystemExit(code) from None
    if isinstance(rc, int) and rc:
        raise SystemExit(rc)
