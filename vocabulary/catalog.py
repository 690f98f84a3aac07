"""The buy catalog: frontier candidates declared once, picked by each workload.

A ``relitigate.yaml`` may declare ``catalog:`` (frontier models with their route, prompt
defaults, limits, tags and, optionally, price and deprecation date) and ``deprecations:``
(a date for any route). A workload's ``catalog:`` picks entries by
name, provider, tag and maximum price per call at its token profile; every quarter its buy
side is its declared buys plus the entries it picks (:func:`pick_entries`).

Prices and deprecation dates an entry does not declare come from litellm's installed price
map; the registry never imports litellm, so the caller resolves them into
:class:`RouteFacts` (``tasks.catalog``) and the pure functions here take those facts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from vocabulary.candidates import Limits, Pricing, Prompt
from vocabulary.fields import Count, EnvName, JsonObject, Name, NonNegative, Strict

Tag = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")]
"""A catalog tag: letters, digits, ``.``, ``_``, ``:`` and ``-``."""
Route = Annotated[str, StringConstraints(min_length=1, max_length=500)]


class CatalogEntry(Strict):
    """One frontier model any workload may be challenged by."""

    name: Name
    """Unique in the catalog; the buy candidate's name in each workload that picks it."""
    route: Route
    """litellm route, e.g. ``openai/gpt-5``."""
    provider: Name | None = None
    """Provider for filters (default: the route's prefix, ``openai`` for ``openai/gpt-5``)."""
    api_base: (
        Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=500)] | None
    ) = None
    """OpenAI-compatible base URL (a gateway, the simulator)."""
    api_key_env: EnvName | None = None
    """NAME of the env var (or Secret block) with the key; never the key itself."""
    prompt: Prompt = Field(default_factory=Prompt)
    """Prompt defaults (system prompt, few-shot examples, template)."""
    params: JsonObject = Field(default_factory=dict)
    """Generation parameters (``temperature``, ``max_tokens``, ...)."""
    pricing: Pricing | None = None
    """Per-token prices (default: litellm's installed price map for the route)."""
    limits: Limits = Field(default_factory=Limits)
    """Concurrency, rate limits, timeout and retries for this route."""
    tags: list[Tag] = Field(default_factory=list)
    """Free labels workloads filter on (``frontier``, ``cheap``, ``eu-hosted``...)."""
    deprecation_date: date | None = None
    """When the provider retires the model (default: litellm's price map, if it says)."""

    @model_validator(mode="after")
    def _per_token(self) -> CatalogEntry:
        if self.pricing is not None and self.pricing.gpu_hourly_usd is not None:
            raise ValueError("a catalog entry is an API model: give per-token pricing")
        return self

    def provider_name(self) -> str:
        """:attr:`provider`, else the route's prefix."""
        return self.provider or provider_of(self.route)


class TokenProfile(Strict):
    """Tokens of one typical call of a workload."""

    input_tokens: Count
    """Prompt tokens per call."""
    output_tokens: Count
    """Completion tokens per call."""


class CatalogPick(Strict):
    """Which catalog entries challenge a workload. Names are always picked; the filters
    (all that are given must match) pick further entries. An empty pick takes every entry."""

    names: list[Name] = Field(default_factory=list)
    """Entries picked by name, whatever the filters say."""
    providers: list[Name] | None = None
    """Only entries from these providers."""
    tags: list[Tag] | None = None
    """Only entries carrying at least one of these tags."""
    max_usd_per_call: NonNegative | None = None
    """Only entries whose price per call at the token profile is at most this (an entry
    whose price is unknown does not match)."""
    token_profile: TokenProfile | None = None
    """Tokens per call for the price filter (default: estimated from the eval set, about
    four characters a token)."""

    def filters_only_by_name(self) -> bool:
        """True when names are given and no filter: only the named entries are picked."""
        return bool(self.names) and (
            self.providers is None and self.tags is None and self.max_usd_per_call is None
        )


class DeprecationSettings(Strict):
    """Deprecation dates the price map does not know. How early they are flagged is each
    workload's ``thresholds.deprecation_horizon_days``."""

    routes: dict[Route, date] = Field(default_factory=dict)
    """A date for any route: a buy's, a fine-tune's serving route or its ``base_model``.
    Wins over litellm's price map."""


@dataclass(frozen=True, slots=True)
class RouteFacts:
    """What is known about a route beyond what the file says (litellm's price map)."""

    input_per_mtok: float | None = None
    output_per_mtok: float | None = None
    deprecation_date: date | None = None
    source: str = "unknown"
    """Where the facts come from: ``litellm``, ``declared`` or ``unknown``."""


@dataclass(frozen=True, slots=True)
class EntryPrice:
    """An entry's per-token prices and where they come from."""

    input_per_mtok: float
    output_per_mtok: float
    source: str
    """``declared`` (the entry's ``pricing``) or ``litellm``."""


def provider_of(route: str) -> str:
    """The route's provider prefix (``openai`` for ``openai/gpt-5``; the route if none)."""
    return route.split("/", 1)[0] if "/" in route else route


def entry_price(entry: CatalogEntry, facts: RouteFacts | None) -> EntryPrice | None:
    """The entry's declared per-token price, else the price map's, else None."""
    p = entry.pricing
    if p is not None and p.input_per_mtok is not None and p.output_per_mtok is not None:
        return EntryPrice(p.input_per_mtok, p.output_per_mtok, "declared")
    if facts is not None and facts.input_per_mtok is not None:
        return EntryPrice(facts.input_per_mtok, facts.output_per_mtok or 0.0, facts.source)
    return None


def usd_per_call(price: EntryPrice, profile: TokenProfile) -> float:
    """USD for one call of ``profile`` at ``price``."""
    return (
        price.input_per_mtok * profile.input_tokens + price.output_per_mtok * profile.output_tokens
    ) / 1e6


def pick_entries(
    pick: CatalogPick,
    entries: Sequence[CatalogEntry],
    *,
    prices: Mapping[str, EntryPrice | None],
    profile: TokenProfile | None,
) -> list[CatalogEntry]:
    """The entries ``pick`` takes, in catalog order (``prices`` by entry name)."""
    named = set(pick.names)
    chosen = []
    for entry in entries:
        by_filter = not pick.filters_only_by_name() and _passes(pick, entry, prices, profile)
        if entry.name in named or by_filter:
            chosen.append(entry)
    return chosen


def _passes(
    pick: CatalogPick,
    entry: CatalogEntry,
    prices: Mapping[str, EntryPrice | None],
    profile: TokenProfile | None,
) -> bool:
    if pick.providers is not None and entry.provider_name() not in pick.providers:
        return False
    if pick.tags is not None and not set(pick.tags) & set(entry.tags):
        return False
    if pick.max_usd_per_call is not None:
        price = prices.get(entry.name)
        if price is None or profile is None:
            return False
        return usd_per_call(price, profile) <= pick.max_usd_per_call
    return True


def estimate_profile(
    inputs: Sequence[str], targets: Sequence[str], prompt_chars: int
) -> TokenProfile:
    """A token profile from an eval set's texts: about four characters a token."""
    n = max(1, len(inputs))
    in_chars = sum(len(text) for text in inputs) / n + prompt_chars
    out_chars = sum(len(text) for text in targets) / max(1, len(targets))
    return TokenProfile(
        input_tokens=max(1, round(in_chars / 4)), output_tokens=max(1, round(out_chars / 4))
    )
