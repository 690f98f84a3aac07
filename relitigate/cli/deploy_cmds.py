"""Commands that put relitigate on a Prefect server: ``deploy`` and ``serve``.

- ``relitigate deploy`` creates the work pools (``relitigate-local``, a process pool, and
  ``relitigate-gpu`` of the chosen type) from ``deployments/work-pools/*.json``, a global
  concurrency limit ``workload:<slug>`` (1 slot) for each workload in the registry, so Prefect
  queues overlapping flow runs of a workload, and applies ``deployments/prefect.yaml``
  (``prefect --no-prompt deploy --all``) against the configured Prefect API. Workers then pick
  the runs up. Workloads synced later get their limit at the next ``deploy``.
- ``relitigate serve`` is one machine, no workers: it starts ``prefect server start`` on
  SQLite (127.0.0.1), then serves the quarterly (cron) and on-demand deployments from this
  process, which is what makes the schedule fire (Prefect's ephemeral API has no scheduler).
  Ctrl-C stops the runner and the server.

Prefect is imported inside the command bodies only. The server process itself is
:class:`relitigate.prefect_server.LocalPrefectServer`.
"""

from __future__ import annotations

import contextlib
import enum
import json
import os
import shlex
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from relitigate.prefect_server import LocalPrefectServer, prefect_exe

QUARTERLY_CRON = "0 6 1 1,4,7,10 *"
"""First day of January, April, July and October, 06:00 UTC."""
LOCAL_POOL = "relitigate-local"
GPU_POOL = "relitigate-gpu"
DEFAULT_PREFECT_FILE = Path("deployments/prefect.yaml")


class DeployError(Exception):
    """A deploy or serve problem the user can fix (exit code 2)."""

    exit_code = 2


class GpuPoolType(enum.StrEnum):
    """Worker type of the ``relitigate-gpu`` pool, and the template it is created from."""

    process = "process"
    kubernetes = "kubernetes"
    docker = "docker"

    @property
    def template_name(self) -> str:
        """The base job template's file name under ``deployments/work-pools/``."""
        return {"process": "process.json", "kubernetes": "kubernetes-gpu.json",
                "docker": "docker-gpu.json"}[self.value]  # fmt: skip


@dataclass(frozen=True)
class PoolSpec:
    """One work pool to create: name, worker type and base job template file."""

    name: str
    type: str
    template: Path


# ---------------------------------------------------------------------------------------------
# deploy


def project_root(prefect_file: Path) -> Path:
    """The folder the ``prefect.yaml`` entrypoints are relative to (the one holding ``flows/``)."""
    resolved = prefect_file.resolve()
    for parent in resolved.parents:
        if (parent / "flows").is_dir():
            return parent
    return Path.cwd()


def pool_specs(prefect_file: Path, gpu_pool_type: GpuPoolType) -> list[PoolSpec]:
    """The pools ``deploy`` creates, their templates beside ``prefect_file``; all must exist."""
    folder = prefect_file.resolve().parent / "work-pools"
    specs = [
        PoolSpec(LOCAL_POOL, "process", folder / "process.json"),
        PoolSpec(GPU_POOL, gpu_pool_type.value, folder / gpu_pool_type.template_name),
    ]
    for spec in specs:
        if not spec.template.is_file():
            raise DeployError(
                f"work-pool template {spec.template} for pool {spec.name!r} does not exist; "
                f"expected it beside {prefect_file} in work-pools/"
            )
    return specs


def load_template(path: Path) -> dict[str, Any]:
    """A base job template (``job_configuration`` + ``variables``), checked for shape."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DeployError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict) or not {"job_configuration", "variables"} <= data.keys():
        raise DeployError(f"{path}: a base job template needs job_configuration and variables")
    return data


def configured_api_url() -> str:
    """Prefect's configured API URL (environment or profile); a :class:`DeployError` if none."""
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    if not url:
        raise DeployError(
            "PREFECT_API_URL is not set: relitigate deploy needs a Prefect server "
            "(e.g. PREFECT_API_URL=http://127.0.0.1:4200/api; `relitigate serve` starts one "
            "on this machine)"
        )
    return str(url)


async def create_pools(specs: list[PoolSpec]) -> list[str]:
    """Create (or overwrite) each pool; returns one line per pool."""
    from prefect import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError

    lines = []
    async with get_client() as client:
        for spec in specs:
            template = load_template(spec.template)
            try:
                existing = await client.read_work_pool(spec.name)
            except ObjectNotFound:
                existing = None
            if existing is not None and existing.type != spec.type:
                # Overwriting keeps the old type: a docker template on a kubernetes pool.
                raise DeployError(
                    f"work pool {spec.name!r} exists with type {existing.type}, not "
                    f"{spec.type}; delete it first (prefect work-pool delete {spec.name}) "
                    f"or deploy with --gpu-pool-type {existing.type}"
                )
            try:
                pool = await client.create_work_pool(
                    WorkPoolCreate(name=spec.name, type=spec.type, base_job_template=template),
                    overwrite=True,
                )
            except PrefectHTTPStatusError as exc:
                raise DeployError(
                    f"the Prefect API refused work pool {spec.name!r} (type {spec.type}, "
                    f"template {spec.template}): {exc.response.text[:500]}"
                ) from exc
            lines.append(f"work pool {pool.name} ({pool.type}) from {spec.template.name}")
    return lines


def registered_workloads() -> list[str] | None:
    """The active workloads in the configured registry; None when there is no registry yet
    (a SQLite file that does not exist is not created here)."""
    from registry.db import is_sqlite, open_registry
    from registry.errors import DatabaseError
    from registry.queries import list_workloads
    from relitigate.settings import load_settings

    url = load_settings().resolved_database_url()
    if is_sqlite(url):
        from sqlalchemy.engine import make_url

        database = make_url(url).database or ""
        if database and not database.startswith("file:") and not Path(database).exists():
            return None
    try:
        factory = open_registry(url)
    except DatabaseError:
        return None
    try:
        with factory.begin() as session:
            return [w.name for w in list_workloads(session)]
    finally:
        bind = factory.kw.get("bind")
        if bind is not None:
            bind.dispose()


async def create_workload_limits(workloads: list[str]) -> list[str]:
    """One global concurrency limit (1 slot) per workload, so that Prefect queues a second
    flow run of a workload until the first is done; returns one line per limit."""
    from prefect import get_client

    from flows.workload import concurrency_limit_name

    lines = []
    async with get_client() as client:
        for workload in workloads:
            name = concurrency_limit_name(workload)
            await client.upsert_global_concurrency_limit_by_name(name, 1)
            lines.append(f"concurrency limit {name} (1 run at a time) for workload {workload}")
    return lines


def run_prefect_deploy(prefect_file: Path, root: Path) -> None:
    """``prefect --no-prompt deploy --all --prefect-file FILE`` in ``root``, output shown."""
    argv = [prefect_exe(), "--no-prompt", "deploy", "--all", "--prefect-file",
            str(prefect_file.resolve())]  # fmt: skip
    done = subprocess.run(argv, cwd=root, check=False)
    if done.returncode != 0:
        raise DeployError(
            f"`{shlex.join(argv)}` failed with exit code {done.returncode} (its output is above)"
        )


# ---------------------------------------------------------------------------------------------
# serve


@contextlib.contextmanager
def _stop_signals_interrupt() -> Iterator[None]:
    """Ctrl-C and SIGTERM (e.g. systemd stopping us) unwind, so the server is stopped.

    SIGINT gets Python's handler even when the parent ignored it (a shell's ``cmd &``), so
    Ctrl-C or ``kill -INT`` always stops ``serve``. The Prefect runner installs its own
    SIGTERM handler while serving, which also ends :func:`serve_deployments`.
    """

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous_term = signal.signal(signal.SIGTERM, interrupt)
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        signal.signal(signal.SIGINT, previous_int)


def serve_deployments(limit: int | None) -> None:
    """Serve ``relitigate-quarter/quarterly`` (cron) and ``relitigate-quarter/on-demand``
    from this process until interrupted (the Prefect API must be configured already)."""
    from prefect import serve
    from prefect.deployments.runner import RunnerDeployment
    from prefect.schedules import Cron

    from flows.quarter import relitigate_quarter

    quarterly = relitigate_quarter.to_deployment(
        name="quarterly",
        description="Re-litigate every production fine-tune at the start of each quarter.",
        schedules=[Cron(QUARTERLY_CRON, timezone="UTC")],
        concurrency_limit=1,
    )
    on_demand = relitigate_quarter.to_deployment(
        name="on-demand",
        description="Re-litigate now, for a given quarter and/or workloads (no schedule).",
    )
    assert isinstance(quarterly, RunnerDeployment) and isinstance(on_demand, RunnerDeployment)
    serve(quarterly, on_demand, limit=limit)


def default_prefect_home() -> Path:
    """``PREFECT_HOME`` if set, else ``prefect/`` under relitigate's data directory."""
    from relitigate.settings import load_settings

    configured = os.environ.get("PREFECT_HOME")
    return Path(configured) if configured else load_settings().data_dir / "prefect"


# ---------------------------------------------------------------------------------------------
# commands


def register(app: typer.Typer) -> None:
    """Attach ``deploy`` and ``serve`` to ``app``."""

    @app.command()
    def deploy(
        prefect_file: Annotated[
            Path, typer.Option("--prefect-file", help="The deployments file to apply.")
        ] = DEFAULT_PREFECT_FILE,
        gpu_pool_type: Annotated[
            GpuPoolType,
            typer.Option("--gpu-pool-type", help="Worker type of the relitigate-gpu pool."),
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
        except httpx.TransportError as exc:
            raise DeployError(
                f"cannot reach the Prefect API at {api_url} ({type(exc).__name__}: {exc}); "
                "is the server running?"
            ) from exc
        for line in lines:
            typer.echo(f"relitigate: {line}")
        workloads = registered_workloads()
        if workloads is None:
            typer.echo(
                "relitigate: no registry yet: run `relitigate deploy` again after "
                "`relitigate sync` to create each workload's concurrency limit",
                err=True,
            )
        else:
            for line in asyncio.run(create_workload_limits(workloads)):
                typer.echo(f"relitigate: {line}")
        run_prefect_deploy(prefect_file, project_root(prefect_file))
        typer.echo(
            f"relitigate: done. Start workers: prefect worker start --pool {LOCAL_POOL}; "
            f"prefect worker start --pool {GPU_POOL} --type {gpu_pool_type.value}"
        )

    @app.command()
    def serve(
        port: Annotated[int, typer.Option("--port", help="Port of the Prefect server.")] = 4200,
        limit: Annotated[
            int | None, typer.Option("--limit", help="Flow runs at once (default: no cap).")
        ] = None,
    ) -> None:
        """Start a local Prefect server (SQLite, 127.0.0.1) and serve the quarterly schedule
        and the on-demand deployment from this process until Ctrl-C."""
        from relitigate.settings import load_settings

        home = default_prefect_home()
        server = LocalPrefectServer(home=home, port=port)
        typer.echo(f"relitigate: starting the Prefect server (home {home}, log {server.log_path})")
        with _stop_signals_interrupt():
            try:
                server.start()
                typer.echo(f"relitigate: Prefect API {server.api_url} (UI on port {port})")
                # Before the first prefect import reads its settings: this process and the
                # flow runs it starts talk to the server just started.
                os.environ.update(
                    PREFECT_API_URL=server.api_url,
                    PREFECT_HOME=str(home),
                    PREFECT_SERVER_ANALYTICS_ENABLED="false",
                )
                if load_settings().gpu_deployment:
                    typer.echo(
                        "relitigate: RELITIGATE_GPU_DEPLOYMENT is set: fine-tune benchmarks wait "
                        "for a worker on that deployment's pool (unset it to run them here)",
                        err=True,
                    )
                from prefect.settings import PREFECT_API_URL, temporary_settings

                with temporary_settings({PREFECT_API_URL: server.api_url}):
                    serve_deployments(limit)
            except KeyboardInterrupt:
                pass
            finally:
                typer.echo("relitigate: stopping the Prefect server")
                server.stop()
