"""Measured volume and task drift in the decision core: an unread source and a drifted sample
move the verdict to watch, never to retire; an undrifted sample changes nothing."""

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from tasks.decision import DecisionOutcome, decide
from tasks.decision.drift import compare, drift_gate
from tasks.decision.measured_volume import MeasuredVolume
from tests.decision.factory import binary, inputs, policy, side
from vocabulary.measured import DriftThresholds

TODAY = date(2026, 11, 25)
READ_AT = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
N = 200
LABELS = ("billing", "it", "facilities", "hr")
EVAL = [f"ticket {i}: my {LABELS[i % 4]} request about the printer" for i in range(N)]
EVAL_LABELS = [LABELS[i % 4] for i in range(N)]


def _keep_inputs(**kw: object):  # type: ignore[no-untyped-def]
    ft, buy = side("ft", "fine_tune", binary(N, N)), side("buy", "buy", binary(N, N))
    return inputs(ft, buy, **kw)  # type: ignore[arg-type]


def _decide(**changes: object) -> DecisionOutcome:
    return decide(replace(_keep_inputs(), **changes), rng_seed=1, today=TODAY)


def _gate(outcome: DecisionOutcome, name: str):  # type: ignore[no-untyped-def]
    return next(g for g in outcome.gates if g.name == name)


def _drift(sample: list[str], labels: list[str]):  # type: ignore[no-untyped-def]
    return compare(
        source="sample.jsonl",
        eval_texts=EVAL,
        sample_texts=sample,
        eval_labels=EVAL_LABELS,
        sample_labels=labels,
        thresholds=DriftThresholds(),
    )


def test_undrifted_sample_passes_every_check_and_leaves_the_verdict() -> None:
    sample = [f"ticket {i}: my {LABELS[i % 4]} request about the printer" for i in range(300)]
    report = _drift(sample, [LABELS[i % 4] for i in range(300)])
    assert not report.drifted and report.findings() == []
    assert report.tokens.coverage > 0.9  # ticket numbers 200-299 are new
    baseline = _decide()
    outcome = _decide(drift=report)
    assert baseline.verdict == outcome.verdict == "keep"
    assert _gate(outcome, "task_drift").status == "pass"


def test_drifted_sample_fails_its_caveat_and_gives_watch_never_retire() -> None:
    sample = [
        f"urgent escalation {i}: payroll discrepancy after merger, contract clause {i} disputed "
        "by the union representative, please advise on statutory remedies"
        for i in range(300)
    ]
    report = _drift(sample, ["hr"] * 270 + ["billing"] * 30)
    assert report.length.drifted and report.tokens.drifted
    assert report.labels is not None and report.labels.drifted
    outcome = _decide(drift=report)
    gate = _gate(outcome, "task_drift")
    assert (gate.status, gate.kind) == ("fail", "caveat")
    assert (outcome.verdict, outcome.rule) == ("watch", 6)
    assert "refresh it" in gate.evidence and gate.evidence in outcome.reasons
    assert "## Measured facts" in outcome.memo and "**drifted**" in outcome.memo


def test_free_text_outputs_skip_the_label_mix_and_say_so() -> None:
    report = _drift(EVAL, [f"answer {i}" for i in range(N)])
    assert report.labels is None and "free text" in (report.labels_note or "")
    assert not report.drifted and drift_gate(report).status == "pass"


def test_unreadable_volume_source_gives_watch_with_the_reason() -> None:
    reading = MeasuredVolume(None, "csv /data/calls.csv", READ_AT, error="file not found")
    outcome = _decide(volume=reading, policy=policy(volume=None))
    gate = _gate(outcome, "volume")
    assert gate.status == "unknown" and "file not found" in gate.evidence
    assert (outcome.verdict, outcome.rule) == ("watch", 6)
    assert "unreadable" in outcome.memo


def test_measured_volume_decides_like_a_typed_one_and_names_its_source() -> None:
    low = MeasuredVolume(1_000.0, "prometheus http://127.0.0.1:9090", READ_AT)
    outcome = _decide(volume=low, policy=policy(volume=1_000.0))
    gate = _gate(outcome, "volume")
    assert gate.status == "fail" and "prometheus http://127.0.0.1:9090" in gate.evidence
    assert outcome.verdict == "retire"
    high = MeasuredVolume(2e7, "csv /data/calls.csv (mean of 28 days)", READ_AT)
    assert _decide(volume=high, policy=policy(volume=2e7)).verdict == "keep"


def test_a_reading_has_a_value_or_an_error() -> None:
    with pytest.raises(ValueError):
        MeasuredVolume(None, "csv x", READ_AT)
    with pytest.raises(ValueError):
        MeasuredVolume(5.0, "csv x", READ_AT, error="also broken")
