"""Registry commands: ``init``, ``sync``, ``workloads``, ``workload``; ``evalset import|show``
are :mod:`relitigate.cli.evalset_cmds`.

SQLAlchemy, pandas and the registry are imported inside the command bodies so that
``relitigate --help`` stays fast; litellm and Prefect are never imported here. Every write
runs in one transaction: an error leaves the registry as it was.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy.orm import Session, sessionmaker

    from registry.evalset_files import EvalSetLimits
    from registry.models import Candidate, Workload
    from registry.sync import FieldProblem

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _url() -> str:
    from relitigate.settings import load_settings

    return load_settings().resolved_database_url()


def evalset_limits() -> EvalSetLimits:
    from relitigate.settings import load_settings

    return load_settings().evalset_limits()


def _engine_check(workload: Workload, candidates: Mapping[str, Candidate]) -> FieldProblem | None:
    """The engines' own rules (imported only once the file itself is valid)."""
    from tasks.declaration_check import check_declaration

    return check_declaration(workload, candidates)


def _display_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<invalid URL>"


def open_checked_registry() -> sessionmaker[Session]:
    """A session factory on an initialised, up-to-date registry."""
    from registry.db import open_registry

    return open_registry(_url())


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def init() -> None:
    """Create the registry, or upgrade it to the newest schema."""
    from sqlalchemy.exc import SQLAlchemyError

    from registry.db import current_revision, upgrade_to_head
    from registry.errors import DatabaseError

    url = _url()
    shown = _display_url(url)
    try:
        before = current_revision(url)
        upgrade_to_head(url)
        after = current_revision(url)
    except SQLAlchemyError as exc:
        raise DatabaseError(
            f"cannot initialise the registry at {shown}: {_first_line(exc)}"
        ) from exc
    if before == after:
        typer.echo(f"registry at {shown} is up to date (schema {after})")
    elif before is None:
        typer.echo(f"created registry at {shown} (schema {after})")
    else:
        typer.echo(f"upgraded registry at {shown} from schema {before} to {after}")


def sync(
    file: Annotated[Path, typer.Argument(help="The workloads file (relitigate.yaml).")],
    as_json: JsonOption = False,
) -> None:
    """Apply a workloads file to the registry (idempotent; removed workloads are archived)."""
    from registry.yaml_lines import read_yaml_file

    document = read_yaml_file(file)  # hostile YAML is refused before the heavy imports
    from registry.sync import apply_sync, prepare_sync

    # Everything is read and checked, by the engines' rules too, before the registry opens.
    from relitigate.cli.catalog_cmds import announce_causes, price_map_facts

    plan = prepare_sync(file, limits=evalset_limits(), check=_engine_check, document=document,
                        facts=price_map_facts)  # fmt: skip
    factory = open_checked_registry()
    with factory.begin() as session:
        report = apply_sync(session, plan)
    triggers = announce_causes(report.causes)
    if as_json:
        print_json(
            {
                "created": list(report.created),
                "updated": list(report.updated),
                "unchanged": list(report.unchanged),
                "archived": list(report.archived),
                "eval_set_versions_created": list(report.eval_set_versions_created),
                "catalog_added": list(report.catalog_added),
                "trigger_causes": [
                    {"workload": c.workload, "cause": c.cause, "kind": c.kind}
                    for c in report.causes
                ],
                "counts": report.counts(),
            }
        )
        return
    counts = report.counts()
    typer.echo(
        f"synced {file}: {counts['created']} created, {counts['updated']} updated, "
        f"{counts['unchanged']} unchanged, {counts['archived']} archived"
        + (
            f"; new eval-set versions: {', '.join(report.eval_set_versions_created)}"
            if report.eval_set_versions_created
            else ""
        )
        + (f"; new catalog entries: {', '.join(report.catalog_added)}" * bool(report.catalog_added))
        + triggers
    )


def workloads(
    as_json: JsonOption = False,
    include_archived: Annotated[
        bool, typer.Option("--all", help="Include archived workloads.")
    ] = False,
) -> None:
    """List the workloads in the registry."""
    from registry.queries import list_workloads, workload_summary

    factory = open_checked_registry()
    with factory() as session:
        rows = [
            workload_summary(session, w)
            for w in list_workloads(session, include_archived=include_archived)
        ]
    if as_json:
        print_json(rows)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="workloads")
    table.add_column("name", no_wrap=True)
    for column in ("case", "volume/day", "fine-tune", "buy", "eval set", "items"):
        table.add_column(column, overflow="fold")
    for row in rows:
        name = row["name"] + (" (archived)" if row["archived_at"] else "")
        eval_set = row["eval_set"]
        table.add_row(
            name,
            row["case"],
            "measured" if row["volume_per_day"] is None else f"{row['volume_per_day']:,}",
            row["fine_tune"] or "-",
            ", ".join(row["buy"]) or "-",
            f"{eval_set['name']} v{eval_set['version']}" if eval_set["name"] else "-",
            str(eval_set["items"] or "-"),
        )
    Console().print(table)
    if not rows:
        typer.echo("no workloads: declare them in relitigate.yaml and run `relitigate sync`")


def workload(
    name: Annotated[str, typer.Argument(help="Workload name.")],
    as_json: JsonOption = False,
) -> None:
    """Show one workload with its candidates, thresholds and eval set."""
    from registry.queries import get_workload, workload_summary

    factory = open_checked_registry()
    with factory() as session:
        data = workload_summary(
            session, get_workload(session, name, include_archived=True), detail=True
        )
    if as_json:
        print_json(data)
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    status = f"archived {data['archived_at']}" if data["archived_at"] else "active"
    console.print(f"[bold]{data['name']}[/bold] ({data['case']}, {status})")
    if data["description"]:
        console.print(data["description"])
    owner = data["owner"]
    console.print(
        "owner: "
        + ", ".join(f"{k}={v}" for k, v in owner.items() if v)
        + "; volume/day "
        + ("measured" if data["volume_per_day"] is None else f"{data['volume_per_day']:,}")
        + "; fixed costs "
        f"${data['fixed_costs_monthly_usd']:,.0f}/month; adopted {data['adopted_quarter'] or '-'}"
    )
    eval_set = data["eval_set"]
    console.print(
        f"eval set: {eval_set['name']} v{eval_set['version']} ({eval_set['items']} items, "
        f"sha256 {str(eval_set['content_hash'])[:12]}); scorer {data['scorer']}"
    )
    console.print(f"threshold overrides: {data['thresholds'] or 'none'}")
    table = Table(title="candidates")
    table.add_column("name", no_wrap=True)
    for column in ("role", "runner", "route", "api_base", "pricing", "status"):
        table.add_column(column, overflow="fold")
    for c in data["candidates"]:
        table.add_row(
            c["name"],
            c["role"],
            c["runner"],
            c["route"],
            c["api_base"] or "-",
            _pricing_text(c["pricing"]),
            "archived" if c["archived_at"] else "active",
        )
    console.print(table)


def _pricing_text(pricing: dict[str, Any]) -> str:
    if "gpu_hourly_usd" in pricing:
        return f"${pricing['gpu_hourly_usd']}/GPU-h x{pricing.get('gpus', 1)}"
    if "input_per_mtok" in pricing:
        return f"${pricing['input_per_mtok']} in / ${pricing['output_per_mtok']} out per Mtok"
    return "litellm cost map"


def register(app: typer.Typer) -> None:
    """Attach the registry commands to ``app``."""
    app.command()(init)
    app.command()(sync)
    app.command()(workloads)
    app.command()(workload)
    from relitigate.cli.evalset_cmds import evalset_app

    app.add_typer(evalset_app, name="evalset")
