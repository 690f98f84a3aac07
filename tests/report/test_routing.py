"""The hybrid routing table: verdicts decide the route; litellm's Router loads it."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import pytest
import yaml

from tasks.report.records import Endpoint, RoutingRecord
from tasks.report.routing import litellm_yaml, route_for, routes, routing_document

FT = Endpoint(name="ft", route="hosted_vllm/ft-v3", api_base="http://gpu:8000/v1")
BUY_Q3 = Endpoint(name="frontier", route="openai/frontier-q3", api_key_env="OPENAI_KEY")
BUY_Q4 = Endpoint(name="frontier", route="openai/frontier-q4", api_key_env="OPENAI_KEY")


def rec(verdict: str | None, conclusive: str | None = None, **kw: Any) -> RoutingRecord:
    return RoutingRecord(
        workload=kw.pop("workload", "w"),
        fine_tune=kw.pop("fine_tune", FT),
        latest_quarter="2026Q4" if verdict else None,
        latest_verdict=verdict,
        latest_reasons=kw.pop("reasons", ()),
        latest_deprecation=kw.pop("deprecation", None),
        latest_buy=BUY_Q4 if verdict else None,
        conclusive_quarter="2026Q3" if conclusive else None,
        conclusive_verdict=conclusive,
        conclusive_buy=BUY_Q3 if conclusive else None,
    )


@pytest.mark.parametrize(
    ("record", "target", "model", "says"),
    [
        (rec("keep", "keep"), "fine_tune", "hosted_vllm/ft-v3", "keep in 2026Q4"),
        (rec("watch", "watch", reasons=("projected to reach 0.95 in 2027Q1",)), "fine_tune",
         "hosted_vllm/ft-v3", "watch in 2026Q4 (projected to reach 0.95 in 2027Q1)"),
        (rec("watch", "keep", reasons=("every criterion passes", "base is deprecated"),
             deprecation="the fine-tune's base model b is deprecated on 2027-01-16"),
         "fine_tune", "hosted_vllm/ft-v3", "(the fine-tune's base model b is deprecated on"),
        (rec("retire", "retire"), "buy", "openai/frontier-q4", "retire in 2026Q4"),
        (rec("inconclusive", "keep", reasons=("too few items",)), "fine_tune",
         "hosted_vllm/ft-v3", "too few items"),
        (rec("inconclusive", "retire"), "buy", "openai/frontier-q3", "retire verdict of 2026Q3"),
        (rec("inconclusive", None), "fine_tune", "hosted_vllm/ft-v3", "no conclusive verdict"),
        (rec(None), "fine_tune", "hosted_vllm/ft-v3", "no decision yet"),
    ],
)  # fmt: skip
def test_route_follows_the_verdict(
    record: RoutingRecord, target: str, model: str, says: str
) -> None:
    route = route_for(record)
    assert route is not None
    assert (route.target, route.endpoint.route) == (target, model)
    assert says in route.reason


@pytest.mark.parametrize("verdict", ["keep", "watch", "inconclusive", "retire"])
def test_a_decision_marked_done_routes_to_its_buy(verdict: str) -> None:
    record = dataclasses.replace(rec(verdict, "keep"), marked_done=("U0ANA", "2026-12-02"))
    route = route_for(record)
    assert route is not None
    assert (route.target, route.endpoint.route) == ("buy", "openai/frontier-q4")
    assert "marked done by U0ANA on 2026-12-02" in route.reason


def test_a_workload_without_fine_tune_or_buy_has_no_route() -> None:
    assert route_for(rec("keep", "keep", fine_tune=None)) is None
    assert route_for(rec(None, fine_tune=None)) is None


def test_document_never_holds_a_key() -> None:
    table = routes([rec("retire", "retire", workload="a"), rec("keep", "keep", workload="b")])
    doc = routing_document(table, generated_at="t")
    params = doc["model_list"][0]["litellm_params"]
    assert params == {"model": "openai/frontier-q4", "api_key": "os.environ/OPENAI_KEY"}
    assert doc["model_list"][1]["litellm_params"]["api_base"] == "http://gpu:8000/v1"
    assert "api_key" not in doc["model_list"][1]["litellm_params"]


def test_litellm_router_loads_the_yaml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    monkeypatch.setenv("LITELLM_OFFLINE_MODE", "true")
    monkeypatch.setenv("OPENAI_KEY", "sk-test-not-a-secret")
    assert os.environ["LITELLM_OFFLINE_MODE"] == "true"
    import litellm

    records = [
        rec("retire", "retire", workload="ticket-triage"),
        rec("keep", "keep", workload="contract-review"),
        rec("inconclusive", "keep", workload="invoice-fields"),
    ]
    text = litellm_yaml(routes(records), generated_at="2026-11-25T00:00:00+00:00")
    assert "sk-test" not in text
    config = yaml.safe_load(text)
    router = litellm.Router(model_list=config["model_list"])
    models = {d["model_name"]: d["litellm_params"]["model"] for d in router.registry().all()}
    assert models == {
        "ticket-triage": "openai/frontier-q4",
        "contract-review": "hosted_vllm/ft-v3",
        "invoice-fields": "hosted_vllm/ft-v3",
    }
    info = {d["model_name"]: d["model_info"] for d in router.registry().all()}
    assert info["ticket-triage"]["relitigate_target"] == "buy"
    assert info["invoice-fields"]["relitigate_verdict"] == "inconclusive"


SELF_HOSTED = Endpoint(
    name="ft",
    route="hosted_vllm/ft-v3",
    runner="vllm",
    params={"temperature": 0, "max_tokens": 8, "api_base": "http://ignored:1/v1"},
    prompt={"system": "Answer with the queue name only.", "template": "Ticket: {input}",
            "few_shot": []},
    production_api_base="http://ft.internal:8000/v1",
)  # fmt: skip


def test_export_carries_what_was_benchmarked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    monkeypatch.setenv("LITELLM_OFFLINE_MODE", "true")
    import litellm

    table = routes([rec("keep", "keep", fine_tune=SELF_HOSTED)])
    config = yaml.safe_load(litellm_yaml(table, generated_at="t"))
    (entry,) = config["model_list"]
    assert entry["litellm_params"] == {
        "model": "hosted_vllm/ft-v3",
        "api_base": "http://ft.internal:8000/v1",  # production's endpoint, never the params'
        "temperature": 0,
        "max_tokens": 8,
    }
    assert entry["model_info"]["relitigate_prompt"] == {
        "system": "Answer with the queue name only.",
        "template": "Ticket: {input}",
    }
    router = litellm.Router(model_list=config["model_list"])
    (loaded,) = router.registry().all()
    assert loaded["litellm_params"]["temperature"] == 0


def test_a_self_hosted_fine_tune_without_endpoint_is_left_out() -> None:
    bare = Endpoint(name="ft", route="hosted_vllm/ft-v3", runner="vllm")
    table = routes([rec("keep", "keep", fine_tune=bare, workload="a"), rec("retire", workload="b")])
    doc = routing_document(table, generated_at="t")
    assert [d["model_name"] for d in doc["model_list"]] == ["b"]
    assert "production_api_base" in doc["routes"][0]["not_exported_because"]
    text = litellm_yaml(table, generated_at="t")
    assert "# Left out: a: ft is self-hosted" in text
    assert all(
        d["litellm_params"].get("api_base") or not d["litellm_params"]["model"].startswith(
            "hosted_vllm/")
        for d in yaml.safe_load(text)["model_list"]
    )  # fmt: skip


def test_the_reader_finds_the_deprecation_where_the_decision_puts_it() -> None:
    from tasks.decision.deprecations import DEPRECATION_KEY
    from tasks.report import reader

    assert reader.DEPRECATION_KEY == DEPRECATION_KEY
