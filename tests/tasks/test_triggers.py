"""Trigger causes as Prefect events: their shape, and the deployment trigger that runs them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import jinja2
import pytest
import yaml

from flows.parameters import QuarterRequest
from registry.catalog_triggers import CauseRecord
from tasks.triggers import emit_cause_events, trigger_event

PREFECT_YAML = Path(__file__).resolve().parents[2] / "deployments" / "prefect.yaml"
CAUSE = CauseRecord("ticket-triage", "catalog:cheap-frontier", "catalog", "entry challenges it")


def _triggered() -> dict[str, Any]:
    deployments = yaml.safe_load(PREFECT_YAML.read_text(encoding="utf-8"))["deployments"]
    return next(d for d in deployments if d["name"] == "triggered")


def test_the_deployment_trigger_covers_every_cause_event_and_names_its_workload() -> None:
    from prefect.events.schemas.deployment_triggers import DeploymentEventTrigger
    from prefect.server.events.schemas.automations import EventTrigger
    from prefect.server.events.schemas.events import ReceivedEvent

    (declared,) = _triggered()["triggers"]
    spec = DeploymentEventTrigger.model_validate(declared)
    server_side = EventTrigger(
        match=declared["match"], expect=declared["expect"], for_each=declared["for_each"],
        posture="Reactive", threshold=1,
    )  # fmt: skip
    for kind in ("eval_set", "fine_tune", "catalog", "deprecation"):
        cause = CauseRecord("ticket-triage", f"{kind}:x", kind, "")
        event = ReceivedEvent(**trigger_event(cause), occurred=datetime.now(UTC), id=uuid4())
        assert server_side.covers(event), kind
    # the run's parameters, rendered from the event as Prefect renders them (jinja)
    event = ReceivedEvent(**trigger_event(CAUSE), occurred=datetime.now(UTC), id=uuid4())
    assert spec.parameters is not None
    template = spec.parameters["request"]["workloads"][0]
    rendered = jinja2.Template(template).render(event=event)
    request = QuarterRequest.model_validate({**spec.parameters["request"], "workloads": [rendered]})
    assert request.workloads == ["ticket-triage"] and request.force


def test_without_a_prefect_server_nothing_is_emitted(monkeypatch: Any) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: None}):
        assert emit_cause_events((CAUSE,)) == []


def test_causes_are_grouped_into_one_event_per_workload() -> None:
    from tasks.triggers import by_workload

    other = CauseRecord("contract-review", "catalog:cheap-frontier", "catalog", "")
    again = CauseRecord("ticket-triage", "eval_set:triage@2", "eval_set", "new version")
    assert by_workload((CAUSE, other, again)) == [(CAUSE, again), (other,)]
    event = trigger_event(CAUSE, again)
    assert event["event"] == "relitigate.trigger.catalog"
    assert [c["kind"] for c in event["payload"]["causes"]] == ["catalog", "eval_set"]
    with pytest.raises(ValueError, match="one workload"):
        trigger_event(CAUSE, other)
