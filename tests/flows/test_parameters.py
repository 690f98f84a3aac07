"""The flows' parameters and names, without running a flow: the models Prefect shows as
forms, what ``deployments/prefect.yaml`` passes them, and the run names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from flows.parameters import BenchmarkRequest, QuarterRequest, WorkloadRequest, current_quarter

PREFECT_YAML = Path(__file__).resolve().parents[2] / "deployments" / "prefect.yaml"


def _deployments() -> dict[str, dict[str, Any]]:
    return {d["name"]: d for d in yaml.safe_load(PREFECT_YAML.read_text())["deployments"]}


def test_each_deployment_s_parameters_are_what_its_flow_accepts() -> None:
    from flows.benchmark import benchmark_candidate
    from flows.quarter import relitigate_quarter
    from flows.workload import relitigate_workload

    flows = {"flows/quarter.py:relitigate_quarter": relitigate_quarter,
             "flows/workload.py:relitigate_workload": relitigate_workload,
             "flows/benchmark.py:benchmark_candidate": benchmark_candidate}  # fmt: skip
    deployments = _deployments()
    for deployment in deployments.values():
        flow = flows[deployment["entrypoint"]]
        given = deployment.get("parameters")
        if given is not None:
            flow.validate_parameters(given)  # raises on a parameter the flow would refuse
    on_demand = relitigate_quarter.validate_parameters(deployments["on-demand"]["parameters"])
    assert on_demand["request"] == QuarterRequest()


def test_the_quarterly_schedule_is_the_flow_s_cron() -> None:
    from flows.quarter import QUARTERLY_CRON, QUARTERLY_TIMEZONE

    [schedule] = _deployments()["quarterly"]["schedules"]
    assert (schedule["cron"], schedule["timezone"]) == (QUARTERLY_CRON, QUARTERLY_TIMEZONE)


def test_the_ui_form_describes_every_field() -> None:
    from prefect.utilities.callables import parameter_schema

    from flows.quarter import relitigate_quarter

    schema = parameter_schema(relitigate_quarter.fn).model_dump_for_openapi()
    fields = schema["definitions"]["QuarterRequest"]["properties"]
    assert set(fields) == set(QuarterRequest.model_fields)
    assert all(f.get("description") for f in fields.values()), fields


@pytest.mark.parametrize(
    ("request_", "name"),
    [
        (QuarterRequest(quarter="2026Q1"), "quarter 2026Q1"),
        (QuarterRequest(quarter="2026Q1", workloads=["a", "b"]), "quarter 2026Q1 (a, b)"),
        (WorkloadRequest(workload="triage", quarter="2026Q4"), "triage 2026Q4"),
        (BenchmarkRequest(workload="t", candidate="ft", quarter="2026Q4"), "t/ft 2026Q4"),
    ],
)
def test_run_names_say_what_runs(request_: Any, name: str) -> None:
    assert request_.run_name() == name


def test_a_scheduled_run_is_named_after_the_quarter_it_starts_in() -> None:
    from flows.parameters import request_of

    scheduled = request_of(QuarterRequest, {})  # the quarterly deployment passes nothing
    assert scheduled.run_name() == f"quarter {current_quarter()}"
    assert "None" not in scheduled.run_name()


@pytest.mark.parametrize(
    "bad",
    [
        {"quarter": "2026Q5"},
        {"quarter": "2026q1x"},
        {"workloads": "triage"},
        {"database_url": "sqlite://"},  # nothing but names, quarters and switches
    ],
)
def test_a_bad_quarter_request_is_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        QuarterRequest.model_validate(bad)


@pytest.mark.parametrize(
    "bad", [{"budget_usd": 0}, {"budget_usd": float("inf")}, {"attempt": 0}, {"retry_level": -1}]
)
def test_a_bad_benchmark_request_is_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        BenchmarkRequest.model_validate({"workload": "t", "candidate": "ft", "quarter": "2026Q4",
                                         **bad})  # fmt: skip
