"""litellm's installed price map as route facts: prices per million tokens, deprecation dates."""

from __future__ import annotations

from datetime import date

from tasks.evaluation.price_map import facts_of, installed_price_map, route_facts


def test_installed_map_gives_prices_and_dates_as_litellm_reads_them() -> None:
    model_cost = installed_price_map()
    dated = [k for k, v in model_cost.items() if isinstance(v, dict) and v.get("deprecation_date")]
    assert len(dated) > 100  # the map dates several hundred models
    key = next(k for k in dated if "/" not in k and model_cost[k].get("input_cost_per_token"))
    facts = route_facts([f"someprovider/{key}", "openai/no-such-model-anywhere"])
    (found,) = facts.values()
    assert found.source == "litellm"
    assert found.input_per_mtok == float(model_cost[key]["input_cost_per_token"]) * 1e6
    assert found.deprecation_date == date.fromisoformat(model_cost[key]["deprecation_date"])


def test_an_entry_without_price_or_valid_date_gives_nothing() -> None:
    assert facts_of({"deprecation_date": "date when the model becomes deprecated"}) is None
    assert facts_of(None) is None
    only_date = facts_of({"deprecation_date": "2027-01-14"})
    assert only_date is not None and only_date.input_per_mtok is None
