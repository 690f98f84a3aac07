"""The buy catalog at sync: which entries each workload picks, and what the registry keeps.

:func:`resolve_catalog` is pure: it takes the validated workloads file, its parsed eval sets
and what is known about each route beyond the file (:class:`~vocabulary.catalog.RouteFacts`,
from litellm's price map; the front door looks them up, the registry never imports litellm)
and returns each workload's catalog buys as candidate declarations, each entry's price and
deprecation date, and the deprecation date of every route the file names.
:func:`store_catalog` writes that into ``catalog_entries`` and ``route_deprecations`` in the
caller's session.

A workload's token profile (the price filter's "per call") is the pick's ``token_profile``
when given, else estimated from its eval set: the mean characters of an item's input (a chat
input's message contents) plus the fine-tune's prompt text, and of an item's target, at
about four characters a token.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.evalset_files import ParsedEvalSet
from registry.models import CatalogEntryRow, RouteDeprecation, utcnow
from registry.workload_file import WorkloadFile, WorkloadSpec
from registry.workload_parts import CandidateSpec
from vocabulary.catalog import (
    CatalogEntry,
    EntryPrice,
    RouteFacts,
    TokenProfile,
    entry_price,
    estimate_profile,
    pick_entries,
)

RouteFactsLookup = Callable[[Sequence[str]], Mapping[str, RouteFacts]]
"""Looks routes up in litellm's price map (the front door passes one)."""


@dataclass(frozen=True, slots=True)
class RouteDate:
    """A route's deprecation date and where it comes from (``declared`` or ``litellm``)."""

    deprecation_date: date
    source: str


@dataclass(frozen=True, slots=True)
class ResolvedEntry:
    """One catalog entry with what sync resolved for it."""

    entry: CatalogEntry
    price: EntryPrice | None
    deprecation: RouteDate | None
    challenges: tuple[str, ...]
    """The workloads that pick it."""


@dataclass(frozen=True)
class ResolvedCatalog:
    """The catalog as this sync resolves it."""

    entries: tuple[ResolvedEntry, ...]
    buys: Mapping[str, tuple[CandidateSpec, ...]]
    """Each workload's catalog buys (by workload name), in catalog order."""
    profiles: Mapping[str, TokenProfile]
    """Each workload's token profile, by workload name."""
    route_dates: Mapping[str, RouteDate]
    """The deprecation date of each route the file names that has one."""


def file_routes(declaration: WorkloadFile) -> list[str]:
    """Every route the file names: catalog entries, candidates and base models, sorted."""
    routes = {entry.route for entry in declaration.catalog}
    for spec in declaration.workloads:
        for candidate in (spec.fine_tune, *spec.buy):
            routes.add(candidate.route)
            if candidate.base_model:
                routes.add(candidate.base_model)
    return sorted(routes)


def catalog_buy(entry: CatalogEntry) -> CandidateSpec:
    """The buy candidate a catalog entry becomes in each workload that picks it."""
    return CandidateSpec(
        name=entry.name,
        route=entry.route,
        api_base=entry.api_base,
        api_key_env=entry.api_key_env,
        prompt=entry.prompt,
        params=dict(entry.params),
        pricing=entry.pricing,
        limits=entry.limits,
    )


def workload_profile(spec: WorkloadSpec, parsed: ParsedEvalSet) -> TokenProfile:
    """The pick's declared token profile, else one estimated from the eval set."""
    if spec.catalog is not None and spec.catalog.token_profile is not None:
        return spec.catalog.token_profile
    prompt = spec.fine_tune.prompt
    prompt_chars = len(prompt.system or "") + len(prompt.template or "")
    inputs = [_text(item.input) for item in parsed.items]
    targets = [_text(item.target) for item in parsed.items]
    return estimate_profile(inputs, targets, prompt_chars)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(str(m.get("content", "")) for m in value if isinstance(m, dict))
    return str(value)


def _route_dates(
    declaration: WorkloadFile, facts: Mapping[str, RouteFacts]
) -> dict[str, RouteDate]:
    dates: dict[str, RouteDate] = {}
    for route, fact in facts.items():
        if fact.deprecation_date is not None:
            dates[route] = RouteDate(fact.deprecation_date, fact.source)
    for entry in declaration.catalog:
        if entry.deprecation_date is not None:
            dates[entry.route] = RouteDate(entry.deprecation_date, "declared")
    for route, when in declaration.deprecations.routes.items():
        dates[route] = RouteDate(when, "declared")
    return dates


def resolve_catalog(
    declaration: WorkloadFile,
    eval_sets: Mapping[str, ParsedEvalSet],
    facts: Mapping[str, RouteFacts],
) -> ResolvedCatalog:
    """Each workload's catalog buys, each entry's price and date, every route's date.

    Args:
        declaration: the validated workloads file.
        eval_sets: its parsed eval sets, by registry name.
        facts: what litellm's price map says about the file's routes (may be empty).
    """
    prices = {e.name: entry_price(e, facts.get(e.route)) for e in declaration.catalog}
    dates = _route_dates(declaration, facts)
    buys: dict[str, tuple[CandidateSpec, ...]] = {}
    profiles: dict[str, TokenProfile] = {}
    challenges: dict[str, list[str]] = {e.name: [] for e in declaration.catalog}
    for spec in declaration.workloads:
        profiles[spec.name] = workload_profile(spec, eval_sets[spec.eval_set.name or spec.name])
        if spec.catalog is None:
            continue
        picked = pick_entries(
            spec.catalog, declaration.catalog, prices=prices, profile=profiles[spec.name]
        )
        buys[spec.name] = tuple(catalog_buy(e) for e in picked)
        for entry in picked:
            challenges[entry.name].append(spec.name)
    entries = tuple(
        ResolvedEntry(
            entry=e,
            price=prices[e.name],
            deprecation=dates.get(e.route),
            challenges=tuple(challenges[e.name]),
        )
        for e in declaration.catalog
    )
    return ResolvedCatalog(entries=entries, buys=buys, profiles=profiles, route_dates=dates)


def store_catalog(session: Session, resolved: ResolvedCatalog) -> tuple[str, ...]:
    """Upsert ``catalog_entries`` and replace ``route_deprecations``; never commits.

    Entries gone from the file are archived. Returns the names of the entries that are new
    (or restored) at this sync.
    """
    now = utcnow()
    existing = {row.name: row for row in session.scalars(select(CatalogEntryRow))}
    added: list[str] = []
    for item in resolved.entries:
        values = _entry_values(item)
        row = existing.get(item.entry.name)
        if row is None:
            session.add(CatalogEntryRow(name=item.entry.name, **values))
            added.append(item.entry.name)
            continue
        if row.archived_at is not None:
            added.append(item.entry.name)
        for key, value in values.items():
            if getattr(row, key) != value:
                setattr(row, key, value)
    declared = {item.entry.name for item in resolved.entries}
    for name, row in existing.items():
        if name not in declared and row.archived_at is None:
            row.archived_at = now
    _store_route_dates(session, resolved.route_dates)
    return tuple(added)


def _entry_values(item: ResolvedEntry) -> dict[str, Any]:
    return {
        "route": item.entry.route,
        "provider": item.entry.provider_name(),
        "tags": list(item.entry.tags),
        "input_per_mtok": item.price.input_per_mtok if item.price else None,
        "output_per_mtok": item.price.output_per_mtok if item.price else None,
        "price_source": item.price.source if item.price else "unknown",
        "deprecation_date": item.deprecation.deprecation_date if item.deprecation else None,
        "deprecation_source": item.deprecation.source if item.deprecation else None,
        "challenges": list(item.challenges),
        "archived_at": None,
    }


def _store_route_dates(session: Session, dates: Mapping[str, RouteDate]) -> None:
    stored = {row.route: row for row in session.scalars(select(RouteDeprecation))}
    for route, when in dates.items():
        row = stored.pop(route, None)
        if row is None:
            session.add(
                RouteDeprecation(
                    route=route, deprecation_date=when.deprecation_date, source=when.source
                )
            )
        elif (row.deprecation_date, row.source) != (when.deprecation_date, when.source):
            row.deprecation_date, row.source = when.deprecation_date, when.source
    for row in stored.values():
        session.delete(row)


def route_dates(session: Session, routes: Iterable[str]) -> dict[str, RouteDate]:
    """The stored deprecation dates of ``routes`` (those that have one)."""
    wanted = set(routes)
    if not wanted:
        return {}
    rows = session.scalars(select(RouteDeprecation).where(RouteDeprecation.route.in_(wanted)))
    return {row.route: RouteDate(row.deprecation_date, row.source) for row in rows}
