"""What ``relitigate deploy`` puts on a Prefect server besides the deployments: the work pools
(from ``deployments/work-pools/*.json``), one global concurrency limit per workload, and the
provider rate limits (:mod:`tasks.rate_limits`); and the ``prefect deploy`` call that applies
``deployments/prefect.yaml``.

Prefect is imported inside the functions only.
"""

from __future__ import annotations

import enum
import json
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from relitigate.prefect_server import prefect_exe

if TYPE_CHECKING:
    from tasks.rate_limits import ProviderBudget

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


@dataclass(frozen=True)
class Registered:
    """What ``deploy`` reads from the registry: the active workloads, and each provider key's
    shared budget (:func:`tasks.rate_limits.provider_budgets`)."""

    workloads: list[str]
    budgets: list[ProviderBudget]


def registered() -> Registered | None:
    """The configured registry's workloads and provider budgets; None when there is no
    registry yet (a SQLite file that does not exist is not created here)."""
    from registry.db import is_sqlite
    from registry.errors import DatabaseError
    from registry.queries import list_workloads
    from relitigate.settings import load_settings
    from tasks.context import open_context
    from tasks.rate_limits import provider_budgets, registered_specs

    settings = load_settings()
    url = settings.resolved_database_url()
    if is_sqlite(url):
        from sqlalchemy.engine import make_url

        database = make_url(url).database or ""
        if database and not database.startswith("file:") and not Path(database).exists():
            return None
    try:
        ctx = open_context(settings)
    except DatabaseError:
        return None
    try:
        with ctx.sessions.begin() as session:
            names = [w.name for w in list_workloads(session)]
            budgets = provider_budgets(registered_specs(session))
    finally:
        ctx.close()
    shared = [b for b in budgets.values() if b.rpm is not None or b.tpm is not None]
    return Registered(workloads=names, budgets=shared)


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


ZOMBIE_AUTOMATION = "relitigate: crash silent flow runs"
SILENT_S = 90
"""A running flow run silent this long (its worker or machine lost) is marked Crashed. The
deployments' runs send a heartbeat every 30 s (``PREFECT_FLOWS_HEARTBEAT_FREQUENCY`` in
``deployments/prefect.yaml``)."""


async def create_zombie_automation() -> str:
    """The Prefect automation that marks a flow run Crashed when its heartbeats stop (a worker
    or machine lost, the run still Running): the quarter then starts that workload again
    (``RELITIGATE_WORKLOAD_RETRIES``). Prefect's recipe for self-hosted servers; created once."""
    from datetime import timedelta

    from prefect.automations import Automation
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import EventTrigger, Posture
    from prefect.events.schemas.events import ResourceSpecification

    try:
        await Automation.aread(name=ZOMBIE_AUTOMATION)
        return f"automation {ZOMBIE_AUTOMATION!r} (present)"
    except ValueError:
        pass
    ended = {f"prefect.flow-run.{s}" for s in ("Completed", "Failed", "Cancelled", "Crashed")}
    await Automation(
        name=ZOMBIE_AUTOMATION,
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect={"prefect.flow-run.heartbeat", *ended},
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(seconds=SILENT_S),
        ),
        actions=[
            ChangeFlowRunState(
                state=StateType.CRASHED,
                message=f"no heartbeat for {SILENT_S} s: its worker or machine was lost",
            )
        ],
    ).acreate()
    return f"automation {ZOMBIE_AUTOMATION!r}: runs silent for {SILENT_S} s are marked Crashed"


def run_prefect_deploy(prefect_file: Path, root: Path) -> None:
    """``prefect --no-prompt deploy --all --prefect-file FILE`` in ``root``, output shown."""
    argv = [prefect_exe(), "--no-prompt", "deploy", "--all", "--prefect-file",
            str(prefect_file.resolve())]  # fmt: skip
    done = subprocess.run(argv, cwd=root, check=False)
    if done.returncode != 0:
        raise DeployError(
            f"`{shlex.join(argv)}` failed with exit code {done.returncode} (its output is above)"
        )
