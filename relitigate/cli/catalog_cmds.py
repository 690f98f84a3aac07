"""The buy catalog: ``relitigate catalog`` lists its entries; helpers ``sync`` uses.

The catalog is declared in ``relitigate.yaml`` (``catalog:``, see examples/relitigate.yaml)
and resolved at ``sync``: prices and deprecation dates the file does not give come from
litellm's installed price map (:func:`price_map_facts`), and each workload's ``catalog:``
pick says which entries challenge it. This command shows what the last sync stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from registry.catalog_triggers import CauseRecord
    from vocabulary.catalog import RouteFacts


def price_map_facts(routes: Sequence[str]) -> Mapping[str, RouteFacts]:
    """Prices and deprecation dates of ``routes`` in litellm's installed price map."""
    from tasks.evaluation.price_map import route_facts

    return route_facts(routes)


def announce_causes(causes: tuple[CauseRecord, ...]) -> str:
    """Emit the causes as Prefect events (on a Prefect server) and say what happens next."""
    if not causes:
        return ""
    from registry.catalog_triggers import mark_emitted
    from relitigate.cli.registry_cmds import open_checked_registry
    from relitigate.prefect_env import apply_prefect_defaults

    apply_prefect_defaults()
    from tasks.triggers import emit_cause_events

    try:
        emitted = emit_cause_events(causes)
    except Exception as exc:  # the sync is committed: the causes wait for `run --triggered`
        from tasks.redaction import scrub

        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        typer.echo(scrub(f"relitigate: no trigger event sent to Prefect ({first})"), err=True)
        emitted = []
    if emitted:
        with open_checked_registry().begin() as session:
            mark_emitted(session, emitted)
        return f"; {len(emitted)} trigger event(s) sent to Prefect"
    names = sorted({c.workload for c in causes})
    return (
        f"; {len(causes)} trigger cause(s) for {', '.join(names)}: "
        "`relitigate run --triggered` re-decides them"
    )


def _rows() -> list[dict[str, Any]]:
    from sqlalchemy import select

    from registry.models import CatalogEntryRow
    from relitigate.cli.registry_cmds import open_checked_registry

    with open_checked_registry()() as session:
        rows = session.scalars(
            select(CatalogEntryRow)
            .where(CatalogEntryRow.archived_at.is_(None))
            .order_by(CatalogEntryRow.name)
        )
        return [
            {
                "name": r.name,
                "route": r.route,
                "provider": r.provider,
                "tags": list(r.tags or []),
                "input_per_mtok": r.input_per_mtok,
                "output_per_mtok": r.output_per_mtok,
                "price_source": r.price_source,
                "deprecation_date": r.deprecation_date.isoformat() if r.deprecation_date else None,
                "deprecation_source": r.deprecation_source,
                "challenges": list(r.challenges or []),
            }
            for r in rows
        ]


def _price(row: Mapping[str, Any]) -> str:
    if row["input_per_mtok"] is None:
        return "unknown"
    out = row["output_per_mtok"] or 0.0
    return f"${row['input_per_mtok']:g} / ${out:g} ({row['price_source']})"


def catalog(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the buy catalog: prices, deprecation dates, the workloads each entry challenges."""
    rows = _rows()
    if as_json:
        from relitigate.cli.registry_cmds import print_json

        print_json(rows)
        return
    if not rows:
        typer.echo("the catalog is empty: declare `catalog:` in relitigate.yaml and `sync` it")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="relitigate: buy catalog (USD per million tokens, in / out)")
    for column in ("entry", "route", "tags", "price", "deprecated on", "challenges"):
        table.add_column(column)
    for row in rows:
        when = row["deprecation_date"]
        table.add_row(
            row["name"],
            row["route"],
            ", ".join(row["tags"]),
            _price(row),
            f"{when} ({row['deprecation_source']})" if when else "",
            ", ".join(row["challenges"]) or "(no workload)",
        )
    Console().print(table)


def register(app: typer.Typer) -> None:
    """Attach ``catalog`` to ``app``."""
    app.command()(catalog)
