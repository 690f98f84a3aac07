"""Evaluation commands: ``relitigate sim serve`` (the loopback provider simulator).

``relitigate bench`` is wired by the flows on top of the engine; this module only holds
the simulator sub-app. Imports of aiohttp and the simulator happen inside the command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

sim_app = typer.Typer(
    name="sim",
    help="The loopback provider SIMULATOR (OpenAI-compatible; declared, not real, models).",
    no_args_is_help=True,
)


@sim_app.command("serve")
def sim_serve(
    profile: Annotated[
        Path,
        typer.Option(help="YAML/JSON profile of simulated models.", exists=True, dir_okay=False),
    ],
    evalset: Annotated[
        list[Path] | None,
        typer.Option(
            help="JSONL eval set (id, input, target); repeatable.", exists=True, dir_okay=False
        ),
    ] = None,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: any free port).")] = 8765,
    host: Annotated[str, typer.Option(help="Loopback address only.")] = "127.0.0.1",
) -> None:
    """Serve simulated models on 127.0.0.1 until Ctrl-C.

    A simulator, for dry runs, tests and load tests: each model answers eval items right or
    wrong deterministically at its declared accuracy, with declared latency, token counts,
    500s, timeouts and 429s. GET /stats shows what it served.
    """
    from relitigate.simulator.control import serve

    serve(profile, evalset or [], host=host, port=port)


def register(app: typer.Typer) -> None:
    """Attach the ``sim`` sub-app to ``app``."""
    app.add_typer(sim_app, name="sim")
