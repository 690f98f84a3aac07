"""Commands that put relitigate on a Prefect server: ``deploy`` and ``serve``.

- ``relitigate deploy`` creates the work pools (``relitigate-local``, a process pool, and
  ``relitigate-gpu`` of the chosen type) from ``deployments/work-pools/*.json``, a global
  concurrency limit ``workload:<slug>`` (1 slot) for each workload in the registry, so Prefect
  queues overlapping flow runs of a workload, and applies ``deployments/prefect.yaml``
  (``prefect --no-prompt deploy --all``) against the configured Prefect API. Workers then pick
  the runs up. Workloads synced later get their limit at the next ``deploy``
  (:mod:`relitigate.cli.deploy_pools`). It also creates each provider key's shared rate
  limits (``rpm:<key>``, ``tpm:<key>``: global concurrency limits with slot decay) from the
  registered candidates' ``limits`` (:mod:`tasks.rate_limits`), setting present ones to them.
- ``relitigate serve`` is one machine, no workers (:mod:`relitigate.cli.serve_runner`).

Prefect is imported inside the command bodies only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from relitigate.cli.choices import choice_option
from relitigate.cli.deploy_pools import (
    DEFAULT_PREFECT_FILE,
    GPU_POOL,
    LOCAL_POOL,
    DeployError,
    GpuPoolType,
    configured_api_url,
    create_pools,
    create_workload_limits,
    create_zombie_automation,
    pool_specs,
    project_root,
    registered,
    run_prefect_deploy,
)


def deploy(
    prefect_file: Annotated[
        Path, typer.Option("--prefect-file", help="The deployments file to apply.")
    ] = DEFAULT_PREFECT_FILE,
    gpu_pool_type: Annotated[
        GpuPoolType,
        choice_option(
            GpuPoolType, "--gpu-pool-type", help="Worker type of the relitigate-gpu pool."
        ),
    ] = GpuPoolType.kubernetes,
) -> None:
    """Create the work pools and deployments on the Prefect server at PREFECT_API_URL."""
    import asyncio

    if not prefect_file.is_file():
        raise DeployError(f"{prefect_file} does not exist (pass --prefect-file)")
    specs = pool_specs(prefect_file, gpu_pool_type)
    api_url = configured_api_url()
    typer.echo(f"relitigate: deploying to {api_url}")
    import httpx

    try:
        lines = asyncio.run(create_pools(specs))
        lines.append(asyncio.run(create_zombie_automation()))
    except httpx.TransportError as exc:
        raise DeployError(
            f"cannot reach the Prefect API at {api_url} ({type(exc).__name__}: {exc}); "
            "is the server running?"
        ) from exc
    for line in lines:
        typer.echo(f"relitigate: {line}")
    found = registered()
    if found is None:
        typer.echo(
            "relitigate: no registry yet: run `relitigate deploy` again after "
            "`relitigate sync` to create each workload's concurrency limit and the provider "
            "rate limits",
            err=True,
        )
    else:
        from tasks.rate_limits import upsert_prefect_limits

        for line in asyncio.run(create_workload_limits(found.workloads)):
            typer.echo(f"relitigate: {line}")
        for line in asyncio.run(upsert_prefect_limits(found.budgets, replace=True)):
            typer.echo(f"relitigate: {line}")
    run_prefect_deploy(prefect_file, project_root(prefect_file))
    typer.echo(
        f"relitigate: done. Start workers: prefect worker start --pool {LOCAL_POOL}; "
        f"prefect worker start --pool {GPU_POOL} --type {gpu_pool_type.value}"
    )


def serve(
    port: Annotated[int, typer.Option("--port", help="Port of the Prefect server.")] = 4200,
    limit: Annotated[
        int | None, typer.Option("--limit", help="Flow runs at once (default: no cap).")
    ] = None,
) -> None:
    """Start a local Prefect server (SQLite, 127.0.0.1) and serve the quarterly schedule
    and the on-demand deployment from this process until Ctrl-C."""
    from relitigate.cli.serve_runner import serve_locally

    serve_locally(port, limit)


def register(app: typer.Typer) -> None:
    """Attach ``deploy`` and ``serve`` to ``app``."""
    for command in (deploy, serve):
        app.command()(command)
