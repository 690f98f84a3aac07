"""Eval-set commands: ``evalset import`` and ``evalset show``.

As for every registry command, the registry is imported inside the command bodies and every
write runs in one transaction.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from relitigate.cli.registry_cmds import (
    JsonOption,
    evalset_limits,
    open_checked_registry,
    print_json,
)

evalset_app = typer.Typer(help="Import and inspect eval sets.", no_args_is_help=True)


@evalset_app.command("import")
def evalset_import(
    file: Annotated[Path, typer.Argument(help="A .jsonl, .csv or .parquet eval set.")],
    name: Annotated[str, typer.Option("--name", help="Eval-set name in the registry.")],
    format: Annotated[
        str | None, typer.Option("--format", help="jsonl, csv or parquet (default: suffix).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Import an eval set file as a new version (identical content: the same version)."""
    from registry.evalset_files import read_eval_set
    from registry.evalsets import store_eval_set

    parsed = read_eval_set(file, format=format, limits=evalset_limits())
    factory = open_checked_registry()
    with factory.begin() as session:
        imported = store_eval_set(session, name=name, parsed=parsed)
    if as_json:
        print_json(
            {
                "name": imported.eval_set_name,
                "version": imported.version,
                "content_hash": imported.content_hash,
                "items": imported.item_count,
                "created": imported.created,
            }
        )
        return
    verb = "imported" if imported.created else "unchanged:"
    typer.echo(
        f"{verb} {imported.eval_set_name} v{imported.version} ({imported.item_count} items, "
        f"sha256 {imported.content_hash[:12]})"
    )


@evalset_app.command("show")
def evalset_show(
    name: Annotated[str, typer.Argument(help="Eval-set name.")],
    as_json: JsonOption = False,
    items: Annotated[int, typer.Option("--items", help="Show the first N items.")] = 0,
) -> None:
    """Show an eval set's versions (and optionally its newest version's first items)."""
    from registry.evalsets import get_eval_set, list_versions, version_items

    factory = open_checked_registry()
    with factory() as session:
        eval_set = get_eval_set(session, name)
        versions: list[dict[str, Any]] = [
            {
                "version": v.version,
                "content_hash": v.content_hash,
                "items": v.item_count,
                "source_path": v.source_path,
                "created_at": v.created_at.isoformat(),
            }
            for v in list_versions(session, eval_set.id)
        ]
        sample: list[dict[str, Any]] = []
        if items > 0 and versions:
            newest = list_versions(session, eval_set.id)[-1]
            sample = [
                {
                    "id": i.item_key,
                    "input": i.input,
                    "target": i.target,
                    "metadata": i.item_metadata,
                }
                for i in version_items(session, newest.id)[:items]
            ]
    data: dict[str, Any] = {"name": eval_set.name, "versions": versions}
    if items > 0:
        data["items"] = sample
    if as_json:
        print_json(data)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"eval set {eval_set.name}")
    for column in ("version", "items", "sha256", "source", "created"):
        table.add_column(column)
    for v in versions:
        table.add_row(
            str(v["version"]),
            str(v["items"]),
            v["content_hash"][:12],
            v["source_path"],
            v["created_at"][:19],
        )
    console = Console()
    console.print(table)
    for item in sample:
        console.print_json(json.dumps(item, ensure_ascii=False))
