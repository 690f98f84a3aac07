"""The decide task's measured facts: read before the decision's transaction, applied to the
decision core's inputs inside it, and recorded with the decision.

Reading happens outside the transaction (a query, an HTTP call, the fine-tune run on the
sample can take seconds; the registry is not held meanwhile) and only when the quarter will
actually be decided (a standing decision is not re-measured).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from registry.decisions import get_decision
from registry.item_results import load_run_results
from registry.models import MeasuredFact
from registry.queries import WorkloadBundle, load_workload
from tasks import mapping
from tasks.context import RegistryContext
from tasks.decide_inputs import QuarterRuns
from tasks.decision.drift import DriftReport, compare
from tasks.decision.measured_volume import MeasuredVolume
from tasks.decision.outcome import jsonable
from tasks.decision.types import DecisionInputs
from tasks.measured.sample import input_text, label_sample, read_sample
from tasks.measured.volume import read_volume
from tasks.redaction import scrub
from vocabulary.measured import ProductionSample


@dataclass(frozen=True)
class Readings:
    """What was read from production for one decision."""

    read_at: datetime
    volume: MeasuredVolume | None = None
    sample: ProductionSample | None = None
    sample_source: str | None = None
    sample_texts: tuple[str, ...] = ()
    sample_labels: tuple[str | None, ...] = ()
    sample_error: str | None = None
    """Why the sample could not be read or labelled (the decision then proceeds without it)."""


def take_readings(
    ctx: RegistryContext,
    workload: str,
    quarter: str,
    *,
    force: bool,
    supersedes: int | None,
    now: datetime | None = None,
) -> Readings | None:
    """Read the workload's volume source and production sample; None when it declares
    neither or when the quarter's decision stands (nothing will be decided)."""
    with ctx.sessions.begin() as session:
        bundle = load_workload(session, workload, with_items=False)
        sources = dict(bundle.workload.measured_sources or {})
        stored = get_decision(session, bundle.workload.id, quarter)
        if not sources or (stored is not None and not force and stored.revision != supersedes):
            return None
        fine_tune = mapping.candidate_spec(bundle.fine_tune)
    read_at = now or datetime.now(UTC)
    volume = read_volume(sources["volume"], now=read_at) if "volume" in sources else None
    readings = Readings(read_at=read_at, volume=volume)
    if "production_sample" not in sources:
        return readings
    sample = ProductionSample.model_validate(sources["production_sample"])
    try:
        read = read_sample(sample)
        labels = label_sample(fine_tune, read.inputs)
    except Exception as exc:  # a sample that cannot be read leaves the declared stability
        return replace(readings, sample=sample, sample_error=scrub(f"{type(exc).__name__}: {exc}"))
    return replace(
        readings,
        sample=sample,
        sample_source=read.source,
        sample_texts=tuple(input_text(x) for x in read.inputs),
        sample_labels=labels.outputs,
    )


def apply_readings(
    session: Session, bundle: WorkloadBundle, runs: QuarterRuns, readings: Readings
) -> QuarterRuns:
    """The quarter's runs with the measured volume and the drift comparison in the decision
    core's inputs."""
    return replace(runs, inputs=_measured_inputs(session, bundle, runs, readings))


def _measured_inputs(
    session: Session, bundle: WorkloadBundle, runs: QuarterRuns, readings: Readings
) -> DecisionInputs:
    inputs = runs.inputs
    if readings.volume is not None:
        policy = replace(inputs.policy, volume_per_day=readings.volume.value)
        inputs = replace(inputs, policy=policy, volume=readings.volume)
    if readings.sample is None or not readings.sample_texts:
        return inputs
    results = load_run_results(session, runs.runs[bundle.fine_tune.id].id)
    drift = compare(
        source=readings.sample_source or "production sample",
        eval_texts=[input_text(r.input) for r in results],
        sample_texts=readings.sample_texts,
        eval_labels=[r.output for r in results if r.output is not None and not r.error],
        sample_labels=[x for x in readings.sample_labels if x is not None],
        thresholds=readings.sample.thresholds,
    )
    return replace(inputs, drift=drift)


def measured_json(volume: MeasuredVolume | None, drift: DriftReport | None) -> dict[str, Any]:
    """The measured facts as the decision's metrics keep them."""
    out: dict[str, Any] = {}
    if volume is not None:
        out["volume"] = jsonable(volume)
    if drift is not None:
        out["drift"] = {**jsonable(drift), "drifted": drift.drifted, "findings": drift.findings()}
    return out


def record_readings(
    session: Session,
    workload_id: int,
    quarter: str,
    readings: Readings,
    drift: DriftReport | None,
) -> None:
    """One ``measured_facts`` row per fact read (in the decision's transaction)."""
    if readings.volume is not None:
        v = readings.volume
        session.add(
            MeasuredFact(
                workload_id=workload_id, quarter=quarter, kind="volume", value=v.value,
                source=v.source[:600], read_at=v.read_at, error=v.error, detail={},
            )
        )  # fmt: skip
    if readings.sample is not None:
        session.add(
            MeasuredFact(
                workload_id=workload_id,
                quarter=quarter,
                kind="drift",
                value=None if drift is None else float(len(drift.findings())),
                source=(readings.sample_source or "production sample")[:600],
                read_at=readings.read_at,
                error=readings.sample_error,
                detail={} if drift is None else measured_json(None, drift)["drift"],
            )
        )
