"""What litellm's installed price map says about a route: per-token prices and deprecation date.

The map (the installed package's ``model_prices_and_context_window_backup.json``, which is
``litellm.model_cost`` under ``LITELLM_LOCAL_MODEL_COST_MAP``; read as a file, so a ``sync``
does not pay litellm's import) carries ``deprecation_date`` (``YYYY-MM-DD``) for
several hundred models. A route is looked up as written (``openai/gpt-4o-mini``), then without
its provider prefix (``gpt-4o-mini``), the way litellm's own cost lookup does.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from tasks.evaluation.litellm_api import load_litellm
from vocabulary.catalog import RouteFacts


def _entry(model_cost: Mapping[str, Any], route: str) -> Mapping[str, Any] | None:
    for key in (route, route.split("/", 1)[1] if "/" in route else route):
        entry = model_cost.get(key)
        if isinstance(entry, Mapping):
            return entry
    return None


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:  # the map's sample entry says what the field means instead
        return None


def facts_of(entry: Mapping[str, Any] | None) -> RouteFacts | None:
    """One price-map entry as :class:`RouteFacts` (None: nothing useful in it)."""
    if entry is None:
        return None
    per_in, per_out = entry.get("input_cost_per_token"), entry.get("output_cost_per_token")
    when = _date(entry.get("deprecation_date"))
    if per_in is None and when is None:
        return None
    return RouteFacts(
        input_per_mtok=None if per_in is None else float(per_in) * 1e6,
        output_per_mtok=None if per_out is None else float(per_out) * 1e6,
        deprecation_date=when,
        source="litellm",
    )


PRICE_MAP_FILE = "model_prices_and_context_window_backup.json"


def installed_price_map() -> Mapping[str, Any]:
    """The price map litellm installs (its module's ``model_cost`` if the file is absent)."""
    spec = importlib.util.find_spec("litellm")  # locates the package without importing it
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / PRICE_MAP_FILE
        if path.is_file():
            loaded: Mapping[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            return loaded
    cost: Mapping[str, Any] = load_litellm().model_cost
    return cost


def route_facts(routes: Iterable[str]) -> dict[str, RouteFacts]:
    """Facts for each route the installed price map knows (others are left out)."""
    model_cost = installed_price_map()
    found = {}
    for route in routes:
        facts = facts_of(_entry(model_cost, route))
        if facts is not None:
            found[route] = facts
    return found
