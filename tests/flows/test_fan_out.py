"""The quarter's fan-out branch: each workload as a run of the fan-out deployment.

Prefect's ``run_deployment`` and the registry read are stood in for here, so what is checked
is the branch's own logic: a quarter decided for good starts no run; a run that crashed is
started again (a ``fresh`` request resumes its attempt instead of starting yet another); the
decision is read back from the registry; runs that never complete end in one line naming the
deployment. The real thing at CI size (a Prefect server, two process workers, the simulator
answering 429 over a low limit every run shares) is ``tests/flows/test_server_e2e.py``; at
bench size, with a worker's runs killed, ``bench/bench_scale.py``; the shared limit across
processes alone is ``tests/tasks/test_shared_rate_limits.py``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

import flows.quarter as quarter
from flows.parameters import WorkloadRequest
from tasks.decide import DecisionSummary

DEPLOYMENT = "relitigate-workload/fan-out"


def _decision(verdict: str) -> DecisionSummary:
    return DecisionSummary(workload="triage", quarter="2026Q1", verdict=verdict, advantage=0.1,
                           reasons=[], notice_kind=None, memo_path=None, reused=True)  # fmt: skip


@dataclass
class FakePrefect:
    """Stands in for run_deployment (final states in order) and the registry's decision."""

    states: list[str]
    stored: DecisionSummary | None = None
    decided_by_run: DecisionSummary | None = None
    calls: list[dict[str, Any]] = field(default_factory=list)

    async def run_deployment(self, name: str, *, parameters: dict[str, Any], timeout: Any) -> Any:
        assert name == DEPLOYMENT and timeout is None
        self.calls.append(parameters["request"])
        state = self.states.pop(0)
        if state == "Completed":
            self.stored = self.decided_by_run
        return SimpleNamespace(
            id=f"run-{len(self.calls)}",
            state=SimpleNamespace(name=state, is_completed=lambda: state == "Completed"),
        )

    def existing(self, ctx: Any, workload: str, quarter_: str) -> DecisionSummary | None:
        return self.stored


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakePrefect:
    fake = FakePrefect(states=[])
    monkeypatch.setattr(quarter, "arun_deployment", fake.run_deployment)
    monkeypatch.setattr(quarter, "existing_decision", fake.existing)
    monkeypatch.setattr(quarter, "get_run_logger", lambda: logging.getLogger("test"))
    return fake


def _ctx(retries: int = 2) -> Any:
    return SimpleNamespace(settings=SimpleNamespace(workload_retries=retries))


def _fan_out(request: WorkloadRequest, retries: int = 2) -> DecisionSummary:
    return asyncio.run(quarter._fanned_out(_ctx(retries), DEPLOYMENT, request))


def test_a_quarter_decided_for_good_starts_no_run(fake: FakePrefect) -> None:
    fake.stored = _decision("keep")
    got = _fan_out(WorkloadRequest(workload="triage", quarter="2026Q1"))
    assert got.verdict == "keep" and got.reused and fake.calls == []


def test_an_inconclusive_quarter_and_a_forced_one_do_start_a_run(fake: FakePrefect) -> None:
    fake.stored, fake.decided_by_run = _decision("inconclusive"), _decision("retire")
    fake.states = ["Completed", "Completed"]
    got = _fan_out(WorkloadRequest(workload="triage", quarter="2026Q1"))
    assert got.verdict == "retire" and not got.reused and len(fake.calls) == 1
    _fan_out(WorkloadRequest(workload="triage", quarter="2026Q1", force=True))
    assert fake.calls[-1]["force"] is True


def test_a_crashed_run_is_started_again_and_a_fresh_one_resumes(fake: FakePrefect) -> None:
    fake.stored, fake.decided_by_run = _decision("keep"), _decision("watch")
    fake.states = ["Crashed", "Completed"]
    got = _fan_out(WorkloadRequest(workload="triage", quarter="2026Q1", fresh=True))
    assert got.verdict == "watch" and not got.reused
    first, second = fake.calls
    assert first["fresh"] is True
    assert second["fresh"] is False and second["force"] is True  # resume the attempt, re-decide


def test_runs_that_never_complete_fail_the_workload_in_one_line(fake: FakePrefect) -> None:
    fake.states = ["Crashed", "Failed"]
    with pytest.raises(RuntimeError) as err:
        _fan_out(WorkloadRequest(workload="triage", quarter="2026Q1"), retries=1)
    assert len(fake.calls) == 2
    assert str(err.value).startswith(f"triage 2026Q1: 2 run(s) of {DEPLOYMENT} did not complete")
    assert "\n" not in str(err.value)


def test_a_completed_run_that_recorded_nothing_says_where_to_look(fake: FakePrefect) -> None:
    fake.states = ["Completed"]
    with pytest.raises(RuntimeError, match=r"recorded no decision.*RELITIGATE_DATABASE_URL"):
        _fan_out(WorkloadRequest(workload="triage", quarter="2026Q1"))
